"""What comes back from the netagent: applied and failed commands, and line diagnoses."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.network.commands import SOURCE
from backoffice.network.models import (
    CommandResult,
    Diagnosis,
    ResultStatus,
    Service,
    ServiceCommand,
    ServiceStatus,
)
from backoffice.network.services.common import (
    DB,
    ensure_not_terminated,
    is_uuid,
    lock,
    locked_by_subscription,
    save,
)
from backoffice.network.services.messages import Messages
from backoffice.network.services.routers import router_seen
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)


def service_diagnose(*, service: Service, requested_by: str, now: datetime) -> Diagnosis:
    """Asks the netagent for the line's live state; the result arrives later on the Diagnosis.

    Raises Conflict for a terminated service.
    """
    ensure_not_terminated(
        service, refusal=_("Subscription %(id)s is terminated; there is no line to diagnose.")
    )
    request_id = uuid.uuid4()
    envelope = Envelope.new(
        type="network.service.diagnose",
        data={
            "request_id": str(request_id),
            "subscription_id": service.subscription_id,
            "router": service.router.name,
            "username": service.pppoe_username,
        },
        source=SOURCE,
    )
    with transaction.atomic(using=DB):
        diagnosis = Diagnosis.objects.create(
            request_id=request_id,
            service=service,
            router_name=service.router.name,
            requested_by=requested_by,
            requested_at=now,
        )
        outbox_put(using=DB, topic=catalog.NETWORK_COMMANDS, key=service.router.name, envelope=envelope)
    return diagnosis


def diagnosis_complete(
    *,
    request_id: str,
    online: bool,
    now: datetime,
    address: str | None = None,
    uptime: str | None = None,
    caller_id: str | None = None,
    error: str | None = None,
) -> Diagnosis | None:
    """Stores a diagnosis result (and the line's online state); None for an unknown request."""
    with transaction.atomic(using=DB):
        diagnosis = _diagnosis_for_update(request_id)
        if diagnosis is None:
            logger.warning("diagnosis result for unknown request %s", request_id)
            return None
        diagnosis.completed_at = now
        diagnosis.online = online
        diagnosis.address = address or ""
        diagnosis.uptime = uptime or ""
        diagnosis.caller_id = caller_id or ""
        diagnosis.error = error or ""
        diagnosis.save()
        if not error:
            service = lock(diagnosis.service)
            service.online = online
            if online:
                service.last_seen_at = now
            save(service)
        return diagnosis


@dataclass(frozen=True)
class AppliedResult:
    """The netagent's ``network.command.applied``: ``revision`` of a subscription is in place."""

    command_id: str
    subscription_id: int
    router_name: str
    revision: int
    status: str
    online: bool | None = None
    causation: Envelope | None = None


# What recording a result may change on a service row.

# What recording a result may change on a service row.
_RESULT_FIELDS = [
    "applied_revision",
    "last_result",
    "last_result_message",
    "last_result_at",
    "online",
    "last_seen_at",
    "status",
    "updated_at",
]


def service_commands_applied(results: Sequence[AppliedResult], *, now: datetime) -> list[Service]:
    """Records that the routers applied these revisions, a handful of queries for them all.

    A result older than the revision already recorded, or from a router the subscription
    has moved away from, changes nothing. Publishes ``network.service.changed`` (applied)
    where the latest desired state is now in place. Returns the services updated; a result
    for a subscription unknown here is logged and skipped. At most one result per
    subscription (raises ValueError otherwise): the consumer splits a burst into such runs.
    """
    by_subscription = {result.subscription_id: result for result in results}
    if len(by_subscription) != len(results):
        raise ValueError("service_commands_applied takes at most one result per subscription")
    with transaction.atomic(using=DB):
        # One UPDATE: this path needs nothing back from the command rows.
        command_ids = [result.command_id for result in results if is_uuid(result.command_id)]
        if command_ids:
            ServiceCommand.objects.filter(command_id__in=command_ids).update(
                result=CommandResult.APPLIED, result_at=now, error=""
            )
        locked = (
            Service.objects.select_for_update(of=("self",))
            .select_related("router")
            .filter(subscription_id__in=by_subscription)
            .order_by("pk")  # one lock order for every writer: no deadlock between batches
        )
        found = {service.subscription_id: service for service in locked}
        # Routers after services, the order a move to another router takes its locks in.
        for router_name in sorted({result.router_name for result in results}):
            router_seen(router_name, now)
        updated: list[Service] = []
        messages = Messages()
        for result in results:
            service = found.get(result.subscription_id)
            if service is None:
                logger.warning(
                    "result for unknown subscription %s (command %s)",
                    result.subscription_id,
                    result.command_id,
                )
                continue
            if _is_stale(service, result):
                continue
            if _record_applied(service, result, now=now):
                messages.announce(service, applied=True, causation=result.causation)
            updated.append(service)
        if updated:
            Service.objects.bulk_update(updated, _RESULT_FIELDS)
        messages.save()
        return updated


def _is_stale(service: Service, result: AppliedResult) -> bool:
    """An older revision than the one recorded, or from the router the service moved away
    from: what we know stays."""
    return result.revision < service.applied_revision or result.router_name != service.router.name


def _record_applied(service: Service, result: AppliedResult, *, now: datetime) -> bool:
    """Sets a result that is not stale on ``service`` (in memory); True when the portal
    should hear of it."""
    newly_applied = result.revision > service.applied_revision
    online_changed = result.online is not None and result.online != service.online
    service.applied_revision = result.revision
    service.last_result = ResultStatus.OK
    service.last_result_message = ""
    service.last_result_at = now
    if result.online is not None:
        service.online = result.online
        if result.online:
            service.last_seen_at = now
    current = result.revision == service.revision
    if current and result.status == "active" and service.status == ServiceStatus.PENDING:
        service.status = ServiceStatus.ACTIVE
    service.updated_at = timezone.now()
    return current and (newly_applied or online_changed)


def service_command_failed(
    *,
    command_id: str,
    router_name: str,
    error: str,
    permanent: bool,
    now: datetime,
    subscription_id: int | None = None,
    revision: int | None = None,
    causation: Envelope | None = None,
) -> Service | None:
    """Records the router's refusal of a command as the service's last result (unless a newer
    revision was applied since) and tells the portal. None when no service matches.
    """
    with transaction.atomic(using=DB):
        command = _command_record(command_id, result=CommandResult.FAILED, error=error, now=now)
        if subscription_id is None and command is not None:
            subscription_id = command.service.subscription_id
        if revision is None and command is not None:
            revision = command.revision
        if subscription_id is None:
            logger.warning("router %s failed command %s: %s", router_name, command_id, error)
            return None
        service = locked_by_subscription(subscription_id)
        if service is None:
            logger.warning("failure for unknown subscription %s (command %s)", subscription_id, command_id)
            return None
        if revision is not None and revision <= service.applied_revision:
            return service
        if router_name != service.router.name:
            return service
        service.last_result = ResultStatus.FAILED
        # A transient failure is retried by the netagent; the message stays until a result replaces it.
        service.last_result_message = error
        service.last_result_at = now
        save(service)
        if revision is None or revision == service.revision:
            Messages().announce(service, applied=False, error=error, causation=causation).save()
        return service


def _command_record(command_id: str, *, result: str, error: str, now: datetime) -> ServiceCommand | None:
    if not is_uuid(command_id):
        return None
    command = (
        ServiceCommand.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(command_id=command_id)
        .first()
    )
    if command is not None:
        command.result = result
        command.result_at = now
        command.error = error
        command.save(update_fields=["result", "result_at", "error"])
    return command


def _diagnosis_for_update(request_id: str) -> Diagnosis | None:
    try:
        uuid.UUID(request_id)
    except ValueError:
        return None
    return (
        Diagnosis.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(request_id=request_id)
        .first()
    )
