"""Set-based runs over many clients' services at once (billing's overdue and settled runs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from backoffice.network.models import CommandKind, Service, ServiceStatus
from backoffice.network.services.common import DB
from backoffice.network.services.messages import Messages
from backoffice.network.services.validation import ensure_suspension_reason
from enlace_messaging.envelope import Envelope


@dataclass(frozen=True)
class ClientServices:
    """Which services of a client a billing message is about (all when ``subscription_ids``
    is None), and the message, as the cause of what follows."""

    client_id: int
    subscription_ids: list[int] | None = None
    causation: Envelope | None = None


def clients_services_suspend(
    requests: Sequence[ClientServices], *, reason: str, now: datetime
) -> list[Service]:
    """Suspends the live services of these clients for ``reason``; returns the ones that changed.

    Set-based for an overdue run (one locking SELECT, one UPDATE and one INSERT per table for
    the lot); each service gets exactly what ``service_suspend`` would give it: the next
    revision, its kick command and a ``network.service.changed``. An already suspended
    service is left as it is. At most one request per client (raises ValueError otherwise).
    """
    ensure_suspension_reason(reason)
    return _clients_services_move(
        requests,
        live=~Q(status__in=[ServiceStatus.TERMINATED, ServiceStatus.SUSPENDED]),
        status=ServiceStatus.SUSPENDED,
        reason=reason,
        kind=CommandKind.SUSPEND,
        # Kick the live sessions so the suspension bites at once.
        kick=True,
        now=now,
    )


def clients_services_reactivate(
    requests: Sequence[ClientServices], *, reason: str, now: datetime
) -> list[Service]:
    """Reactivates these clients' services suspended for ``reason`` only (a manual suspension
    stays); returns the ones that changed. Set-based like :func:`clients_services_suspend`.
    """
    return _clients_services_move(
        requests,
        live=Q(status=ServiceStatus.SUSPENDED, suspension_reason=reason),
        status=ServiceStatus.ACTIVE,
        reason="",
        kind=CommandKind.REACTIVATE,
        kick=False,
        now=now,
    )


def _clients_services_move(
    requests: Sequence[ClientServices],
    *,
    live: Q,
    status: str,
    reason: str,
    kind: str,
    kick: bool,
    now: datetime,
) -> list[Service]:
    """Moves the requested services matching ``live`` to ``status``/``reason``, each at its
    next revision with its command and its event."""
    wanted = {request.client_id: request for request in requests}
    if len(wanted) != len(requests):
        raise ValueError("one request per client")
    # No savepoint of its own when a caller's transaction is open (the consumer's inbox has
    # one per message): an error here rolls that back anyway.
    with transaction.atomic(using=DB, savepoint=False):
        # Locked by the query that finds them (PostgreSQL re-checks ``live`` after waiting for
        # a concurrent writer), in one order for every writer.
        found = (
            Service.objects.select_related("router")
            .filter(live, client_id__in=wanted)
            .order_by("pk")
            .select_for_update(of=("self",))
        )
        moving = [
            service
            for service in found
            if wanted[service.client_id].subscription_ids is None
            or service.subscription_id in (wanted[service.client_id].subscription_ids or ())
        ]
        if not moving:
            return []
        stamp = timezone.now()
        # The rows are locked: each revision below is the stored one plus one.
        Service.objects.filter(pk__in=[service.pk for service in moving]).update(
            status=status, suspension_reason=reason, revision=F("revision") + 1, updated_at=stamp
        )
        messages = Messages()
        for service in moving:
            service.status = status
            service.suspension_reason = reason
            service.revision += 1
            service.updated_at = stamp
            messages.moved(
                service, kind=kind, now=now, kick=kick, causation=wanted[service.client_id].causation
            )
        messages.save()
    return moving
