"""Builds the messages the network service sends: desired state for the netagent, events for others.

Pure functions over model instances; writing them to the outbox is the services' job.
"""

from __future__ import annotations

from typing import Any

from backoffice.network.models import Service, ServiceStatus
from enlace_messaging.envelope import Envelope

SOURCE = "network"

# A pending service is wanted up on the router; "pending" only means not yet confirmed.
_DESIRED_STATUS = {
    ServiceStatus.PENDING: "active",
    ServiceStatus.ACTIVE: "active",
    ServiceStatus.SUSPENDED: "suspended",
    ServiceStatus.TERMINATED: "terminated",
}


def desired_status(service: Service) -> str:
    """What the router should enforce for ``service``: active, suspended or terminated."""
    return _DESIRED_STATUS[ServiceStatus(service.status)]


def desired_state_data(
    service: Service,
    *,
    router_name: str | None = None,
    status: str | None = None,
    kick: bool = False,
) -> dict[str, Any]:
    """The ``network.service.desired`` data for ``service`` at its current revision.

    ``router_name`` and ``status`` override the service's own (a move terminates the
    subscription on the router it leaves).
    """
    data: dict[str, Any] = {
        "subscription_id": service.subscription_id,
        "client_id": service.client_id,
        "router": router_name or service.router.name,
        "revision": service.revision,
        "status": status or desired_status(service),
        # No "profile": plans are enforced by speed, so routers need no per-plan PPP profile.
        "pppoe": {"username": service.pppoe_username, "password": service.pppoe_password},
        "address": service.address,
        "speed": {"download": service.download, "upload": service.upload},
    }
    if kick:
        data["kick"] = True
    return data


def desired_state_envelope(
    service: Service,
    *,
    router_name: str | None = None,
    status: str | None = None,
    kick: bool = False,
    causation: Envelope | None = None,
) -> Envelope:
    """A validated ``network.service.desired`` envelope (see :func:`desired_state_data`)."""
    data = desired_state_data(service, router_name=router_name, status=status, kick=kick)
    return _envelope("network.service.desired", data, causation)


def service_changed_envelope(
    service: Service,
    *,
    applied: bool,
    error: str | None = None,
    causation: Envelope | None = None,
) -> Envelope:
    """A ``network.service.changed`` event telling the portal the service's status."""
    data: dict[str, Any] = {
        "subscription_id": service.subscription_id,
        "client_id": service.client_id,
        "status": service.status,
        "reason": service.suspension_reason or None,
        "online": service.online,
        "applied": applied,
        "revision": service.revision,
    }
    if error:
        data["error"] = error
    return _envelope("network.service.changed", data, causation)


def _envelope(message_type: str, data: dict[str, Any], causation: Envelope | None) -> Envelope:
    if causation is not None:
        return causation.caused(type=message_type, data=data, source=SOURCE)
    return Envelope.new(type=message_type, data=data, source=SOURCE)
