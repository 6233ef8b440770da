"""Writes of the clients service: a subscription from creation to cancellation."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict
from backoffice.clients import events
from backoffice.clients.models import (
    Client,
    ClientStatus,
    Plan,
    PlanChange,
    Subscription,
    SubscriptionStatus,
)
from backoffice.clients.services.addressing import _address_for, _live_on, _pool_locked, _username_for
from backoffice.clients.services.common import DB, _publish, _render_contracts_on_commit


def subscription_create(
    *,
    client: Client,
    plan: Plan,
    router: str,
    billing_day: int,
    start_date: date,
    now: datetime,
    address: str | None = None,
    pppoe_username: str | None = None,
    pppoe_password: str | None = None,
    subscription_id: int | None = None,
) -> Subscription:
    """Puts ``client`` on ``plan`` on ``router``: a PPPoE user (generated unless given, unique
    on the router), a password (generated unless given) and an address (the given one, or the
    next free one of the router's pool). Publishes ``clients.subscription.created`` (the
    network provisions from it), activates a prospect client and queues the contract.
    ``subscription_id`` is for demo data. Raises ValidationError per field.
    """
    if not 1 <= billing_day <= 28:
        raise ValidationError({"billing_day": [_("The billing day is between 1 and 28.")]})
    if not plan.active:
        raise ValidationError({"plan": [_('Plan "%(code)s" is no longer offered.') % {"code": plan.code}]})
    with transaction.atomic(using=DB):
        client = Client.objects.select_for_update().get(pk=client.pk)
        if client.status == ClientStatus.RETIRED:
            raise Conflict(_("Client %(id)s is retired.") % {"id": client.pk}, code="client_retired")
        pool = _pool_locked(router)
        subscription = Subscription(
            id=subscription_id,
            client=client,
            plan=plan,
            router=router,
            pppoe_username=_username_for(client, router, pppoe_username),
            pppoe_password=pppoe_password or secrets.token_urlsafe(9),
            address=_address_for(pool, address),
            billing_day=billing_day,
            start_date=start_date,
            status=SubscriptionStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        _save_subscription(subscription)
        _publish(client.pk, events.subscription_created(subscription))
        if client.status == ClientStatus.PROSPECT:
            client.status = ClientStatus.ACTIVE
            client.updated_at = now
            client.save(update_fields=["status", "updated_at"])
            _publish(client.pk, events.client_event(client, created=False))
        _render_contracts_on_commit([subscription.pk])
    return subscription


def _locked(subscription: Subscription) -> Subscription:
    locked = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "client")
        .get(pk=subscription.pk)
    )
    if locked.status != SubscriptionStatus.ACTIVE:
        raise Conflict(
            _("Subscription %(id)s is cancelled; it cannot be changed.") % {"id": locked.pk}, code="cancelled"
        )
    return locked


def subscription_change_plan(
    *, subscription: Subscription, plan: Plan, now: datetime, effective_date: date | None = None
) -> Subscription:
    """Moves the subscription to ``plan`` from ``effective_date`` (default today): the router
    gets the new speed, billing prorates from that day, and a new contract version is rendered.
    The same plan again changes nothing. Raises Conflict for a cancelled subscription."""
    when = effective_date or timezone.localdate(now)
    with transaction.atomic(using=DB):
        subscription = _locked(subscription)
        if subscription.plan_id == plan.pk:
            return subscription
        if not plan.active:
            raise ValidationError(
                {"plan": [_('Plan "%(code)s" is no longer offered.') % {"code": plan.code}]}
            )
        PlanChange.objects.create(
            subscription=subscription,
            old_plan=subscription.plan,
            new_plan=plan,
            effective_date=when,
            changed_at=now,
        )
        subscription.plan = plan
        subscription.updated_at = now
        subscription.save(update_fields=["plan", "updated_at"])
        _publish(subscription.client_id, events.subscription_plan_changed(subscription, effective_date=when))
        _render_contracts_on_commit([subscription.pk])
    return subscription


def subscription_move(
    *, subscription: Subscription, router: str, now: datetime, address: str | None = None
) -> Subscription:
    """Moves the subscription to another router (its PPPoE user must be free there) with the
    given address or the next free one of that router's pool; publishes
    ``clients.subscription.moved``. Moving to the same router only changes the address."""
    with transaction.atomic(using=DB):
        subscription = _locked(subscription)
        if router == subscription.router and (not address or address == subscription.address):
            return subscription
        pool = _pool_locked(router)
        if (
            router != subscription.router
            and _live_on(router, subscription).filter(pppoe_username=subscription.pppoe_username).exists()
        ):
            raise Conflict(
                _('The PPPoE user "%(user)s" is already used on router %(router)s.')
                % {"user": subscription.pppoe_username, "router": router},
                code="duplicate_username",
            )
        subscription.address = _address_for(pool, address, exclude=subscription)
        subscription.router = router
        subscription.updated_at = now
        _save_subscription(subscription)
        _publish(subscription.client_id, events.subscription_moved(subscription))
    return subscription


def subscription_cancel(
    *, subscription: Subscription, now: datetime, effective_date: date | None = None
) -> Subscription:
    """Cancels the subscription with ``effective_date`` (default today) as its last day; the
    router drops it and its user name and address are free again. Idempotent."""
    when = effective_date or timezone.localdate(now)
    with transaction.atomic(using=DB):
        current = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if current.status == SubscriptionStatus.CANCELLED:
            return current
        current.status = SubscriptionStatus.CANCELLED
        current.end_date = when
        current.updated_at = now
        current.save(update_fields=["status", "end_date", "updated_at"])
        _publish(current.client_id, events.subscription_cancelled(current, effective_date=when))
    return current


def _save_subscription(subscription: Subscription) -> None:
    try:
        with transaction.atomic(using=DB):
            subscription.save()
    except IntegrityError as exc:
        raise Conflict(
            _("Another subscription took this user name or address on the router meanwhile; try again."),
            code="duplicate",
        ) from exc
