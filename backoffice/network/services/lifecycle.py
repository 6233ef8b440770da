"""Writes of a subscriber's service through its life: create, change, suspend, reactivate,
terminate.

Every change bumps the service's revision, stores the new desired state and writes its
``network.service.desired`` command (keyed by the router's name) to the outbox in the same
``transaction.atomic(using="network")``; a status change also writes a
``network.service.changed`` event for the portal (``applied=false``), and the netagent's
result writes it again (``applied=true``). Functions raise domain errors from
:mod:`backoffice.access.errors`; ``now`` is passed in by the caller.
"""

from __future__ import annotations

import copy
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict, DomainError
from backoffice.network.models import CommandKind, Router, Service, ServiceStatus, SuspensionReason
from backoffice.network.services.common import (
    DB,
    address_fits,
    allocate_address,
    ensure_address_free,
    ensure_not_terminated,
    ensure_router_active,
    ensure_username_free,
    lock,
    lock_router,
    save,
    save_new,
)
from backoffice.network.services.messages import Messages
from backoffice.network.services.validation import ensure_suspension_reason, validate_address, validate_speed
from enlace_messaging.envelope import Envelope


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
        router = lock_router(router)
        ensure_router_active(router)
        if Service.objects.filter(subscription_id=subscription_id).exists():
            raise Conflict(
                _("Subscription %(id)s already has an internet service.") % {"id": subscription_id},
                code="duplicate",
            )
        ensure_username_free(router, pppoe_username)
        address = validate_address(address) if address else allocate_address(router)
        ensure_address_free(router, address)
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
        save_new(service)
        Messages().moved(service, kind=CommandKind.PROVISION, now=now, causation=causation).save()
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
        service = lock(service)
        ensure_not_terminated(service, refusal=_("Subscription %(id)s is terminated; it cannot be changed."))
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
            new_router = lock_router(router)
            ensure_router_active(new_router)
            ensure_username_free(new_router, service.pppoe_username, exclude=service)
            if address is None and not address_fits(new_router, service.address):
                service.address = allocate_address(new_router, exclude=service)
            ensure_address_free(new_router, service.address, exclude=service)
            # Leave the old router first, at its own revision, so it drops the secret and
            # address it holds (the old ones, even if this update changes them).
            before.revision = service.revision + 1
            Messages().desired(
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
            save(service)
            Messages().desired(service, kind=CommandKind.PROVISION, now=now, causation=causation).save()
            if service.status != status_before:
                Messages().announce(service, applied=False, causation=causation).save()
            return service

        if address is not None:
            ensure_address_free(service.router, address, exclude=service)
        service.revision += 1
        save(service)
        Messages().desired(service, kind=CommandKind.UPDATE, now=now, kick=True, causation=causation).save()
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
    save(service)
    Messages().moved(service, kind=kind, now=now, kick=kick, causation=causation).save()
    return service


def service_suspend(
    *, service: Service, reason: str, now: datetime, causation: Envelope | None = None
) -> Service:
    """Suspends ``service`` for ``reason`` (an :class:`SuspensionReason` value).

    Idempotent: an already suspended service gets no new revision (a manual suspension only
    replaces the recorded reason, so settling a debt will not lift it). Raises Conflict for a
    terminated service, DomainError for an unknown reason.
    """
    ensure_suspension_reason(reason)
    with transaction.atomic(using=DB):
        return _suspend_locked(lock(service), reason=reason, now=now, causation=causation)


def _suspend_locked(service: Service, *, reason: str, now: datetime, causation: Envelope | None) -> Service:
    """``service_suspend`` on a service already locked in the current transaction."""
    ensure_not_terminated(service, refusal=_("Subscription %(id)s is terminated; it cannot be suspended."))
    if service.status == ServiceStatus.SUSPENDED:
        if reason == SuspensionReason.MANUAL and service.suspension_reason != reason:
            service.suspension_reason = reason
            save(service)
            Messages().announce(service, applied=service.in_sync, causation=causation).save()
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
        service = lock(service)
        ensure_not_terminated(
            service, refusal=_("Subscription %(id)s is terminated; it cannot be reactivated.")
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
        service = lock(service)
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
