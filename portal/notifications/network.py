"""Notifications about the subscriber's internet service, from the network service's events."""

from __future__ import annotations

from enlace_messaging import catalog
from enlace_messaging.envelope import Envelope
from portal.notifications.registry import Push, notification_handler

# The line a decision adds to the notification list, by the status decided. Confirmations from
# the router (``applied``) and failures (``error``, meant for staff) only update the card.
_NOTICE_OF_STATUS = {
    "suspended": "suspended",
    "active": "reactivated",
    "pending": "activating",
    "terminated": "terminated",
}


@notification_handler(catalog.NETWORK_EVENTS, "network.service.changed")
def service_changed(envelope: Envelope) -> list[Push]:
    """Every open page of the service's client gets its service card replaced with the new
    status (and connection), plus a line in the notification list when the status was decided."""
    data = envelope.data
    if data.get("client_id") is None:
        # A service not linked to a client has no subscriber to tell.
        return []
    status = str(data["status"])
    applied = bool(data.get("applied"))
    decided = not applied and not data.get("error")
    service = {
        "subscription_id": int(data["subscription_id"]),
        "status": status,
        "suspension_reason": str(data.get("reason") or ""),
        "online": data.get("online"),
        "applied": applied,
    }
    return [
        Push(
            client_id=int(data["client_id"]),
            template="portal/notifications/service_changed.html",
            context={
                "service": service,
                "notice": _NOTICE_OF_STATUS.get(status, "") if decided else "",
                "id": envelope.id,
            },
        )
    ]
