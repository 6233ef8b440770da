"""Writes of the clients service: plans and their prices."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.access.errors import DomainError
from backoffice.clients import events
from backoffice.clients.models import (
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionStatus,
)
from backoffice.clients.services.common import (
    _PLAN_FIELDS,
    _PRICE_FIELDS,
    CENT,
    DB,
    SPEED_RE,
    _publish,
    _render_contracts_on_commit,
    next_billing_date,
)

# --- plans ---------------------------------------------------------------------------------------------


def _clean_plan_values(values: dict[str, Any]) -> None:
    for field in ("download", "upload"):
        if field in values and not SPEED_RE.match(str(values[field] or "")):
            raise ValidationError({field: [_('Not a speed: use a number with k, M or G, e.g. "20M".')]})
    for field in ("monthly_price", "installation_fee"):
        if field in values:
            if values[field] < 0:
                raise ValidationError({field: [_("An amount cannot be negative.")]})
            values[field] = Decimal(values[field]).quantize(CENT)
    if "tax_rate" in values and not Decimal(0) <= values["tax_rate"] <= Decimal(1):
        raise ValidationError({"tax_rate": [_("A tax rate is between 0 and 1 (0.15 is 15 %).")]})
    if "term_months" in values and not 0 <= int(values["term_months"]) <= 120:
        raise ValidationError({"term_months": [_("A contract term is between 0 and 120 months.")]})


def plan_create(
    *,
    code: str,
    name: str,
    download: str,
    upload: str,
    monthly_price: Decimal,
    now: datetime,
    tax_rate: Decimal = Decimal("0.15"),
    installation_fee: Decimal = Decimal("0.00"),
    term_months: int = 12,
    active: bool = True,
) -> Plan:
    """Creates a plan with its first price (from today on); raises ValidationError per field."""
    values: dict[str, Any] = {
        "download": download,
        "upload": upload,
        "monthly_price": monthly_price,
        "installation_fee": installation_fee,
        "tax_rate": tax_rate,
        "term_months": term_months,
    }
    _clean_plan_values(values)
    with transaction.atomic(using=DB):
        if Plan.objects.filter(code=code).exists():
            raise ValidationError(
                {"code": [_('A plan with code "%(code)s" already exists.') % {"code": code}]}
            )
        plan = Plan.objects.create(
            code=code, name=name, active=active, created_at=now, updated_at=now, **values
        )
        PlanPrice.objects.create(
            plan=plan,
            monthly_price=plan.monthly_price,
            tax_rate=plan.tax_rate,
            installation_fee=plan.installation_fee,
            effective_from=timezone.localdate(now),
            created_at=now,
        )
    return plan


def plan_update(
    *, plan: Plan, now: datetime, price_effective_from: date | None = None, **changes: Any
) -> Plan:
    """Changes a plan. A new price is recorded from ``price_effective_from`` (default today) and
    reaches each active subscription from its first billing date on or after that day, so a
    period already begun keeps its price; a speed change reaches the routers at once. Each
    active subscription gets a ``clients.subscription.plan_changed`` saying from when."""
    unknown = set(changes) - set(_PLAN_FIELDS) - set(_PRICE_FIELDS)
    if unknown:
        raise DomainError(
            _("These plan fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    _clean_plan_values(changes)
    today = timezone.localdate(now)
    effective_from = price_effective_from or today
    if effective_from < today:
        raise ValidationError({"price_effective_from": [_("A new price cannot apply to the past.")]})
    with transaction.atomic(using=DB):
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        changed = [field for field, value in changes.items() if getattr(plan, field) != value]
        if not changed:
            return plan
        for field in changed:
            setattr(plan, field, changes[field])
        plan.updated_at = now
        plan.save()
        price_changed = bool(set(changed) & set(_PRICE_FIELDS))
        if price_changed:
            PlanPrice.objects.update_or_create(
                plan=plan,
                effective_from=effective_from,
                defaults={
                    "monthly_price": plan.monthly_price,
                    "tax_rate": plan.tax_rate,
                    "installation_fee": plan.installation_fee,
                    "created_at": now,
                },
            )
        if price_changed or {"download", "upload", "name"} & set(changed):
            subscriptions = list(
                Subscription.objects.select_related("plan").filter(
                    plan=plan, status=SubscriptionStatus.ACTIVE
                )
            )
            for subscription in subscriptions:
                subscription.plan = plan
                when = next_billing_date(subscription.billing_day, effective_from) if price_changed else today
                _publish(
                    subscription.client_id,
                    events.subscription_plan_changed(subscription, effective_date=when),
                )
            _render_contracts_on_commit([s.pk for s in subscriptions])
    return plan


def plan_price_on(*, plan: Plan, day: date) -> PlanPrice | None:
    """The price of ``plan`` that applies on ``day`` (None before the plan existed)."""
    return plan.prices.filter(effective_from__lte=day).order_by("-effective_from", "-id").first()
