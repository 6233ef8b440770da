"""Writes of the network service: routers, each subscription's desired service, results.

Every change to a service bumps its revision, stores the new desired state and writes its
``network.service.desired`` command (keyed by the router's name) to the outbox in the same
``transaction.atomic(using="network")``; a status change also writes a
``network.service.changed`` event for the portal (``applied=false``), and the netagent's
result writes it again (``applied=true``). Functions raise domain errors from
:mod:`backoffice.access.errors`; ``now`` is passed in by the caller.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict, DomainError
from backoffice.messaging import catalog
from backoffice.messaging.envelope import Envelope
from backoffice.messaging.outbox import outbox_put, outbox_put_many
from backoffice.network.commands import SOURCE, desired_state_envelope, service_changed_envelope
from backoffice.network.models import (
    CommandKind,
    CommandResult,
    Diagnosis,
    ResultStatus,
    Router,
    Service,
    ServiceCommand,
    ServiceStatus,
    SuspensionReason,
)
from backoffice.network.secrets import router_password_seal
from backoffice.services import service_db

logger = logging.getLogger(__name__)

DB = service_db("network")

# Same rule as the message schema, but without a zero rate: "20M", "512k", "1G", "2000000".
SPEED_RE = re.compile(r"^[1-9][0-9]*[kMG]?$")
_ROUTER_FIELDS = (
    "host",
    "api_port",
    "api_ssl",
    "username",
    "password",
    "site",
    "description",
    "address_pool",
    "active",
)


# --- validation shared by the API and the consumers ------------------------------------------------


def validate_speed(value: str, *, field: str) -> str:
    """Returns ``value`` when it is a RouterOS rate like "20M"; raises DomainError otherwise."""
    if not SPEED_RE.match(value or ""):
        raise DomainError(
            _('%(field)s "%(value)s" is not a speed: use a number with k, M or G, e.g. "20M".')
            % {"field": field, "value": value},
            code="invalid_speed",
        )
    return value


def validate_address(value: str) -> str:
    """Returns ``value`` normalised when it is a unicast IPv4 host address; raises DomainError."""
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise DomainError(
            _('"%(value)s" is not a valid IPv4 address.') % {"value": value}, code="invalid_address"
        ) from None
    if address.is_multicast or address.is_unspecified or address.is_loopback or address == _BROADCAST:
        raise DomainError(
            _('"%(value)s" cannot be given to a subscriber.') % {"value": value}, code="invalid_address"
        )
    return str(address)


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def validate_pool(value: str) -> str:
    """Returns ``value`` normalised when it is an IPv4 network in CIDR form (or empty)."""
    if not value:
        return ""
    try:
        return str(ipaddress.IPv4Network(value, strict=False))
    except ValueError:
        raise DomainError(
            _('"%(value)s" is not an IPv4 network such as 10.20.0.0/24.') % {"value": value},
            code="invalid_pool",
        ) from None


# --- routers -----------------------------------------------------------------------------------


def router_validate(*, api_port: int | None = None, address_pool: str | None = None) -> dict[str, Any]:
    """The given router values normalised; raises DomainError naming the first bad one.

    What the API's serializer and the admin's form both rely on, so neither lets through
    what the other refuses.
    """
    values: dict[str, Any] = {}
    if api_port is not None:
        if not 1 <= int(api_port) <= 65535:
            raise DomainError(
                _("The API port must be between 1 and 65535, not %(port)s.") % {"port": api_port},
                code="invalid_port",
            )
        values["api_port"] = int(api_port)
    if address_pool is not None:
        values["address_pool"] = validate_pool(address_pool)
    return values


def router_create(
    *,
    name: str,
    host: str,
    username: str,
    password: str = "",
    api_port: int = 8728,
    api_ssl: bool = False,
    site: str = "",
    description: str = "",
    address_pool: str = "",
    active: bool = True,
) -> Router:
    """Registers a router (its password sealed, see ``secrets``); raises Conflict when
    ``name`` is taken, DomainError for a bad port or pool."""
    valid = router_validate(api_port=api_port, address_pool=address_pool)
    with transaction.atomic(using=DB):
        if Router.objects.filter(name=name).exists():
            raise Conflict(_('A router named "%(name)s" already exists.') % {"name": name}, code="duplicate")
        return Router.objects.create(
            name=name,
            host=host,
            username=username,
            password=router_password_seal(password),
            api_port=valid["api_port"],
            api_ssl=api_ssl,
            site=site,
            description=description,
            address_pool=valid["address_pool"],
            active=active,
        )


def router_update(*, router: Router, **changes: object) -> Router:
    """Changes the given fields of ``router`` (its name never changes: it keys the netagent).

    A new password is sealed (see ``secrets``). Raises DomainError for a field that cannot be
    changed or a bad value.
    """
    unknown = set(changes) - set(_ROUTER_FIELDS)
    if unknown:
        raise DomainError(
            _("These router fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    changes.update(
        router_validate(
            api_port=changes.get("api_port"),  # type: ignore[arg-type]
            address_pool=str(changes["address_pool"] or "") if "address_pool" in changes else None,
        )
    )
    if "password" in changes:
        changes["password"] = router_password_seal(str(changes["password"] or ""))
    with transaction.atomic(using=DB):
        for field, value in changes.items():
            setattr(router, field, value)
        router.save()
    return router


def router_delete(*, router: Router) -> None:
    """Removes a router; raises Conflict while services still refer to it."""
    with transaction.atomic(using=DB):
        if Service.objects.filter(router=router).exists():
            raise Conflict(
                _('Router "%(name)s" still has services; move or terminate them, or deactivate it.')
                % {"name": router.name},
                code="router_in_use",
            )
        router.delete()


def router_reconcile(*, router: Router, now: datetime) -> Envelope:
    """Asks the netagent to compare ``router`` with the desired state and repair drift."""
    envelope = Envelope.new(type="network.router.reconcile", data={"router": router.name}, source=SOURCE)
    with transaction.atomic(using=DB):
        outbox_put(using=DB, topic=catalog.NETWORK_COMMANDS, key=router.name, envelope=envelope)
    return envelope


def router_reconciled(*, router_name: str, now: datetime) -> Router | None:
    """Records that the netagent reconciled ``router_name`` (and so reached it)."""
    with transaction.atomic(using=DB):
        router = Router.objects.select_for_update().filter(name=router_name).first()
        if router is None:
            logger.warning("reconciliation reported for unknown router %s", router_name)
            return None
        router.last_reconciled_at = now
        router.last_seen_at = now
        router.is_up = True
        router.save(update_fields=["last_reconciled_at", "last_seen_at", "is_up", "updated_at"])
        return router


# --- services ------------------------------------------------------------------------------------


def service_create(
    *,
    subscription_id: int,
    client_id: int,
    router: Router,
    pppoe_username: str,
    pppoe_password: str,
    plan_code: str,
    download: str,
    upload: str,
    now: datetime,
    address: str | None = None,
    causation: Envelope | None = None,
) -> Service:
    """Creates the service of a subscription (status pending) and provisions it at revision 1.

    Without ``address`` one is allocated from the router's pool. Raises Conflict when the
    subscription already has a service, the user name or address is taken on the router,
    the router is inactive or its pool is exhausted; DomainError for bad values.
    """
    validate_speed(download, field="download")
    validate_speed(upload, field="upload")
    if not pppoe_username or not pppoe_password:
        raise DomainError(_("The PPPoE user name and password are required."), code="invalid_pppoe")
    with transaction.atomic(using=DB):
        router = _lock_router(router)
        if not router.active:
            raise Conflict(
                _('Router "%(name)s" is not active.') % {"name": router.name}, code="router_inactive"
            )
        if Service.objects.filter(subscription_id=subscription_id).exists():
            raise Conflict(
                _("Subscription %(id)s already has an internet service.") % {"id": subscription_id},
                code="duplicate",
            )
        _ensure_username_free(router, pppoe_username)
        address = validate_address(address) if address else _allocate_address(router)
        _ensure_address_free(router, address)
        service = Service(
            subscription_id=subscription_id,
            client_id=client_id,
            router=router,
            pppoe_username=pppoe_username,
            pppoe_password=pppoe_password,
            address=address,
            plan_code=plan_code,
            download=download,
            upload=upload,
            status=ServiceStatus.PENDING,
            revision=1,
        )
        _save_new(service)
        _Messages().moved(service, kind=CommandKind.PROVISION, now=now, causation=causation).save()
        return service


def service_update(
    *,
    service: Service,
    now: datetime,
    plan_code: str | None = None,
    download: str | None = None,
    upload: str | None = None,
    pppoe_password: str | None = None,
    address: str | None = None,
    router: Router | None = None,
    causation: Envelope | None = None,
) -> Service:
    """Changes plan/speed, password, address or router; returns the (possibly unchanged) service.

    A change bumps the revision and sends one command with ``kick`` so the live session picks
    it up; a router move sends two: terminate on the old router, provision on the new one.
    Nothing changed → no revision. Raises Conflict for a terminated service or a taken user
    name/address, DomainError for bad values.
    """
    if download is not None:
        validate_speed(download, field="download")
    if upload is not None:
        validate_speed(upload, field="upload")
    if address is not None:
        address = validate_address(address)
    if pppoe_password is not None and not pppoe_password:
        raise DomainError(_("The PPPoE password cannot be empty."), code="invalid_pppoe")
    with transaction.atomic(using=DB):
        service = _lock(service)
        if service.status == ServiceStatus.TERMINATED:
            raise Conflict(
                _("Subscription %(id)s is terminated; it cannot be changed.")
                % {"id": service.subscription_id},
                code="terminated",
            )
        # What the old router holds, should the service move away from it.
        before = copy.copy(service)
        moving = router is not None and router.pk != service.router.pk
        changed = False
        for field, value in (
            ("plan_code", plan_code),
            ("download", download),
            ("upload", upload),
            ("pppoe_password", pppoe_password),
            ("address", address),
        ):
            if value is not None and getattr(service, field) != value:
                setattr(service, field, value)
                changed = True
        if not changed and not moving:
            return service

        if moving:
            assert router is not None
            new_router = _lock_router(router)
            if not new_router.active:
                raise Conflict(
                    _('Router "%(name)s" is not active.') % {"name": new_router.name}, code="router_inactive"
                )
            _ensure_username_free(new_router, service.pppoe_username, exclude=service)
            if address is None and not _address_fits(new_router, service.address):
                service.address = _allocate_address(new_router, exclude=service)
            _ensure_address_free(new_router, service.address, exclude=service)
            # Leave the old router first, at its own revision, so it drops the secret and
            # address it holds (the old ones, even if this update changes them).
            before.revision = service.revision + 1
            _Messages().desired(
                before,
                kind=CommandKind.TERMINATE,
                now=now,
                status="terminated",
                kick=True,
                causation=causation,
            ).save()
            service.revision = before.revision
            service.router = new_router
            status_before = service.status
            if service.status == ServiceStatus.ACTIVE:
                # Active again only once the new router confirms it.
                service.status = ServiceStatus.PENDING
            service.revision += 1
            _save(service)
            _Messages().desired(service, kind=CommandKind.PROVISION, now=now, causation=causation).save()
            if service.status != status_before:
                _Messages().announce(service, applied=False, causation=causation).save()
            return service

        if address is not None:
            _ensure_address_free(service.router, address, exclude=service)
        service.revision += 1
        _save(service)
        _Messages().desired(service, kind=CommandKind.UPDATE, now=now, kick=True, causation=causation).save()
        return service


def _move(
    service: Service,
    *,
    status: str,
    reason: str,
    kind: str,
    now: datetime,
    kick: bool = False,
    causation: Envelope | None = None,
) -> Service:
    """Moves a service locked in the current transaction to ``status``/``reason`` at its next
    revision, with its command and its event."""
    service.status = status
    service.suspension_reason = reason
    service.revision += 1
    _save(service)
    _Messages().moved(service, kind=kind, now=now, kick=kick, causation=causation).save()
    return service


def service_suspend(
    *, service: Service, reason: str, now: datetime, causation: Envelope | None = None
) -> Service:
    """Suspends ``service`` for ``reason`` (an :class:`SuspensionReason` value).

    Idempotent: an already suspended service gets no new revision (a manual suspension only
    replaces the recorded reason, so settling a debt will not lift it). Raises Conflict for a
    terminated service, DomainError for an unknown reason.
    """
    _ensure_suspension_reason(reason)
    with transaction.atomic(using=DB):
        return _suspend_locked(_lock(service), reason=reason, now=now, causation=causation)


def _ensure_suspension_reason(reason: str) -> None:
    if reason not in SuspensionReason.values:
        raise DomainError(
            _('"%(reason)s" is not a suspension reason; use one of: %(choices)s.')
            % {"reason": reason, "choices": ", ".join(SuspensionReason.values)},
            code="invalid_reason",
        )


def _suspend_locked(service: Service, *, reason: str, now: datetime, causation: Envelope | None) -> Service:
    """``service_suspend`` on a service already locked in the current transaction."""
    if service.status == ServiceStatus.TERMINATED:
        raise Conflict(
            _("Subscription %(id)s is terminated; it cannot be suspended.") % {"id": service.subscription_id},
            code="terminated",
        )
    if service.status == ServiceStatus.SUSPENDED:
        if reason == SuspensionReason.MANUAL and service.suspension_reason != reason:
            service.suspension_reason = reason
            _save(service)
            _Messages().announce(service, applied=service.in_sync, causation=causation).save()
        return service
    # Kick the live session so the suspension bites at once.
    return _move(
        service,
        status=ServiceStatus.SUSPENDED,
        reason=reason,
        kind=CommandKind.SUSPEND,
        now=now,
        kick=True,
        causation=causation,
    )


def service_reactivate(*, service: Service, now: datetime, causation: Envelope | None = None) -> Service:
    """Lifts a suspension; a service that is not suspended is returned unchanged.

    Raises Conflict for a terminated service.
    """
    with transaction.atomic(using=DB):
        service = _lock(service)
        if service.status == ServiceStatus.TERMINATED:
            raise Conflict(
                _("Subscription %(id)s is terminated; it cannot be reactivated.")
                % {"id": service.subscription_id},
                code="terminated",
            )
        if service.status != ServiceStatus.SUSPENDED:
            return service
        return _move(
            service,
            status=ServiceStatus.ACTIVE,
            reason="",
            kind=CommandKind.REACTIVATE,
            now=now,
            causation=causation,
        )


def service_terminate(*, service: Service, now: datetime, causation: Envelope | None = None) -> Service:
    """Ends the service: the router drops its secret and address. Idempotent."""
    with transaction.atomic(using=DB):
        service = _lock(service)
        if service.status == ServiceStatus.TERMINATED:
            return service
        return _move(
            service,
            status=ServiceStatus.TERMINATED,
            reason="",
            kind=CommandKind.TERMINATE,
            now=now,
            kick=True,
            causation=causation,
        )


def service_diagnose(*, service: Service, requested_by: str, now: datetime) -> Diagnosis:
    """Asks the netagent for the line's live state; the result arrives later on the Diagnosis.

    Raises Conflict for a terminated service.
    """
    if service.status == ServiceStatus.TERMINATED:
        raise Conflict(
            _("Subscription %(id)s is terminated; there is no line to diagnose.")
            % {"id": service.subscription_id},
            code="terminated",
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
            service = _lock(diagnosis.service)
            service.online = online
            if online:
                service.last_seen_at = now
            _save(service)
        return diagnosis


# --- results from the netagent ---------------------------------------------------------------------


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
        command_ids = [result.command_id for result in results if _is_uuid(result.command_id)]
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
            _router_seen(router_name, now)
        updated: list[Service] = []
        messages = _Messages()
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
        service = _locked_by_subscription(subscription_id)
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
        _save(service)
        if revision is None or revision == service.revision:
            _Messages().announce(service, applied=False, error=error, causation=causation).save()
        return service


# --- a client's services at once (billing) -----------------------------------------------------------


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
    _ensure_suspension_reason(reason)
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
        messages = _Messages()
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


# --- helpers ------------------------------------------------------------------------------------------


def _client_services(client_id: int, subscription_ids: list[int] | None) -> QuerySet[Service]:
    services = Service.objects.select_related("router").filter(client_id=client_id).order_by("pk")
    if subscription_ids is not None:
        services = services.filter(subscription_id__in=subscription_ids)
    return services


def _lock(service: Service) -> Service:
    """A fresh copy of ``service`` locked until the transaction ends.

    Billing, the clients consumer and staff may change the same service at once; the row
    lock serialises them so each revision is bumped from the latest one.
    """
    return Service.objects.select_for_update(of=("self",)).select_related("router").get(pk=service.pk)


def _locked_by_subscription(subscription_id: int) -> Service | None:
    return (
        Service.objects.select_for_update(of=("self",))
        .select_related("router")
        .filter(subscription_id=subscription_id)
        .first()
    )


def _lock_router(router: Router) -> Router:
    # Serialises address allocation on a router.
    return Router.objects.select_for_update().get(pk=router.pk)


def _live_on(router: Router, exclude: Service | None) -> QuerySet[Service]:
    services = Service.objects.filter(router=router).exclude(status=ServiceStatus.TERMINATED)
    if exclude is not None:
        services = services.exclude(pk=exclude.pk)
    return services


def _ensure_username_free(router: Router, username: str, *, exclude: Service | None = None) -> None:
    if _live_on(router, exclude).filter(pppoe_username=username).exists():
        raise Conflict(
            _('The PPPoE user "%(username)s" is already used on router "%(router)s".')
            % {"username": username, "router": router.name},
            code="duplicate_username",
        )


def _ensure_address_free(router: Router, address: str, *, exclude: Service | None = None) -> None:
    if _live_on(router, exclude).filter(address=address).exists():
        raise Conflict(
            _('The address %(address)s is already used on router "%(router)s".')
            % {"address": address, "router": router.name},
            code="duplicate_address",
        )


def _address_fits(router: Router, address: str) -> bool:
    if not router.address_pool:
        return True
    return ipaddress.IPv4Address(address) in ipaddress.IPv4Network(router.address_pool)


def _allocate_address(router: Router, *, exclude: Service | None = None) -> str:
    """The lowest free host address of the router's pool (the router row is locked)."""
    if not router.address_pool:
        raise Conflict(
            _('Router "%(name)s" has no address pool; give the address explicitly.') % {"name": router.name},
            code="no_address_pool",
        )
    network = ipaddress.IPv4Network(router.address_pool)
    used = set(_live_on(router, exclude).values_list("address", flat=True))
    # The first host is usually the router's own gateway address.
    hosts = list(network.hosts())[1:] if network.num_addresses > 4 else list(network.hosts())
    for host in hosts:
        if str(host) not in used:
            return str(host)
    raise Conflict(
        _('The address pool of router "%(name)s" is exhausted.') % {"name": router.name},
        code="pool_exhausted",
    )


def _save_new(service: Service) -> None:
    try:
        # A savepoint, so a concurrent duplicate leaves the outer transaction usable.
        with transaction.atomic(using=DB):
            service.save()
    except IntegrityError as exc:
        raise Conflict(
            _("Another service took this subscription, user name or address meanwhile; try again."),
            code="duplicate",
        ) from exc


def _save(service: Service) -> None:
    try:
        with transaction.atomic(using=DB):
            service.save()
    except IntegrityError as exc:
        raise Conflict(
            _("Another service took this user name or address meanwhile; try again."), code="duplicate"
        ) from exc


class _Messages:
    """The commands and events of a change, written with one INSERT per table on ``save``.

    Outbox rows keep the order they were added in (the relay publishes in that order).
    """

    def __init__(self) -> None:
        self.outbox: list[tuple[str, str | None, Envelope]] = []
        self.commands: list[ServiceCommand] = []

    def desired(
        self,
        service: Service,
        *,
        kind: str,
        now: datetime,
        router_name: str | None = None,
        status: str | None = None,
        kick: bool = False,
        causation: Envelope | None = None,
    ) -> _Messages:
        """Adds the ``network.service.desired`` command of ``service``'s current revision,
        keyed by its router, and its row in the command history."""
        envelope = desired_state_envelope(
            service, router_name=router_name, status=status, kick=kick, causation=causation
        )
        key = envelope.data["router"]
        self.outbox.append((catalog.NETWORK_COMMANDS, key, envelope))
        self.commands.append(
            ServiceCommand(
                command_id=envelope.id,
                service=service,
                revision=service.revision,
                kind=kind,
                router_name=key,
                status=envelope.data["status"],
                kick=kick,
                created_at=now,
            )
        )
        return self

    def announce(
        self, service: Service, *, applied: bool, error: str | None = None, causation: Envelope | None = None
    ) -> _Messages:
        """Adds a ``network.service.changed`` for the portal, keyed by subscription."""
        envelope = service_changed_envelope(service, applied=applied, error=error, causation=causation)
        self.outbox.append((catalog.NETWORK_EVENTS, str(service.subscription_id), envelope))
        return self

    def moved(
        self,
        service: Service,
        *,
        kind: str,
        now: datetime,
        kick: bool = False,
        causation: Envelope | None = None,
    ) -> _Messages:
        """A status change: its desired-state command and the portal's (not yet applied) event."""
        return self.desired(service, kind=kind, now=now, kick=kick, causation=causation).announce(
            service, applied=False, causation=causation
        )

    def save(self) -> None:
        if self.outbox:
            outbox_put_many(using=DB, messages=self.outbox)
        if self.commands:
            ServiceCommand.objects.bulk_create(self.commands)
        self.outbox, self.commands = [], []


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# How stale ``Router.last_seen_at`` may get while results keep arriving.
ROUTER_SEEN_RESOLUTION = timedelta(seconds=5)


def _router_seen(router_name: str, now: datetime) -> None:
    """Marks the router up and seen at ``now``, at most once per ``ROUTER_SEEN_RESOLUTION``.

    Every result used to update the router row, and ``service_create`` locks that row to
    allocate addresses, so provisioning and results waited on each other (and, with the
    results consumer committing a batch at once, would wait for a whole batch). A row whose
    timestamp is recent does not match the WHERE, and PostgreSQL neither writes nor locks it.
    """
    Router.objects.filter(name=router_name).filter(
        Q(last_seen_at=None) | Q(last_seen_at__lt=now - ROUTER_SEEN_RESOLUTION) | ~Q(is_up=True)
    ).update(last_seen_at=now, is_up=True)


def _command_record(command_id: str, *, result: str, error: str, now: datetime) -> ServiceCommand | None:
    if not _is_uuid(command_id):
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
