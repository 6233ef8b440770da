"""Writes of the billing service: its copy of clients and subscriptions, numbering, credit
notes, promises to pay.

The billing run is in :mod:`backoffice.billing.invoicing`, money moving between documents in
:mod:`backoffice.billing.ledger`, reminders and suspension in :mod:`backoffice.billing.dunning`.
Every function is keyword-only and atomic on the "billing" database; events go through the
outbox in the same transaction. ``now``/``today`` come from the caller.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from backoffice.access.errors import DomainError, NotFound
from backoffice.billing import pricing
from backoffice.billing.ledger import (
    DB,
    SOURCE,
    account_lock,
    client_balance,
    credits_allocate,
    settlement_check,
)
from backoffice.billing.models import (
    BillingAccount,
    BillingSubscription,
    CreditNote,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    NumberCounter,
    PendingCharge,
    PlanSegment,
)
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)

__all__ = ["DB", "SOURCE"]


# --- numbering -------------------------------------------------------------------------------------


def counter_lock(*, kind: str) -> NumberCounter:
    """The number counter of ``kind`` for this establishment and emission point, locked until
    the transaction ends (created on first use). Concurrent issuers of ``kind`` queue here.
    """
    if not transaction.get_connection(DB).in_atomic_block:
        raise RuntimeError("counter_lock must run inside transaction.atomic(using='billing')")
    key = {
        "establishment": settings.ENLACE_BILLING_ESTABLISHMENT,
        "emission_point": settings.ENLACE_BILLING_EMISSION_POINT,
        "kind": kind,
    }
    counter = NumberCounter.objects.select_for_update().filter(**key).first()
    if counter is None:
        # The first document ever: create the row in a savepoint; a racing creator wins and we
        # lock theirs.
        with transaction.atomic(using=DB):
            NumberCounter.objects.get_or_create(**key)  # type: ignore[arg-type]
        counter = NumberCounter.objects.select_for_update().get(**key)
    return counter


def numbers_reserve(*, kind: str, count: int) -> tuple[str, str, int]:
    """Reserves ``count`` consecutive numbers of ``kind``; returns (establishment, emission
    point, first sequential).

    Must run inside the transaction that inserts the numbered documents: the counter row stays
    locked until it commits, so concurrent issuers take turns and a rollback gives the numbers
    back (no gaps, no duplicates).
    """
    counter = counter_lock(kind=kind)
    first = counter.last_number + 1
    counter.last_number += count
    counter.save(update_fields=["last_number"])
    return counter.establishment, counter.emission_point, first


# --- the clients service's events ------------------------------------------------------------------


@dataclass(frozen=True)
class PlanTerms:
    """What billing needs of a plan: its price without tax, IVA rate and installation fee."""

    code: str
    name: str
    monthly_price: Decimal
    tax_rate: Decimal
    installation_fee: Decimal = Decimal("0.00")


def account_upsert(
    *,
    client_id: int,
    name: str,
    identification_type: str = "",
    identification: str = "",
    billing_email: str = "",
    language: str = "es",
) -> BillingAccount:
    """Creates or updates the client's billing account with their current details."""
    with transaction.atomic(using=DB):
        account, _created = BillingAccount.objects.update_or_create(
            client_id=client_id,
            defaults={
                "name": name,
                "identification_type": identification_type,
                "identification": identification,
                "billing_email": billing_email or "",
                "language": language if language in ("es", "en") else "es",
            },
        )
        return account


def subscription_register(
    *,
    subscription_id: int,
    client_id: int,
    billing_day: int,
    start_date: date,
    plan: PlanTerms,
    now: datetime,
) -> BillingSubscription:
    """Starts billing a subscription on ``plan`` from ``start_date``; its installation fee goes
    on the first invoice. A subscription already registered is returned unchanged.
    """
    if not 1 <= billing_day <= 28:
        raise DomainError(_("The billing day must be between 1 and 28."), code="invalid_billing_day")
    with transaction.atomic(using=DB):
        existing = BillingSubscription.objects.filter(subscription_id=subscription_id).first()
        if existing is not None:
            return existing
        subscription = BillingSubscription.objects.create(
            subscription_id=subscription_id,
            client_id=client_id,
            billing_day=billing_day,
            start_date=start_date,
        )
        _segment_put(subscription=subscription, effective_from=start_date, plan=plan)
        if plan.installation_fee > 0:
            PendingCharge.objects.create(
                subscription=subscription,
                description=_("Installation"),
                amount=plan.installation_fee,
                tax_rate=plan.tax_rate,
                created_at=now,
            )
        return subscription


def _segment_put(*, subscription: BillingSubscription, effective_from: date, plan: PlanTerms) -> None:
    PlanSegment.objects.update_or_create(
        subscription=subscription,
        effective_from=effective_from,
        defaults={
            "plan_code": plan.code,
            "plan_name": plan.name,
            "monthly_price": plan.monthly_price,
            "tax_rate": plan.tax_rate,
        },
    )


def _subscription_lock(subscription_id: int) -> BillingSubscription:
    subscription = (
        BillingSubscription.objects.select_for_update().filter(subscription_id=subscription_id).first()
    )
    if subscription is None:
        raise NotFound(
            _("Subscription %(id)s is not billed (its creation was never received).")
            % {"id": subscription_id},
            code="unknown_subscription",
        )
    return subscription


def subscription_plan_change(
    *, subscription_id: int, plan: PlanTerms, effective_date: date, now: datetime
) -> BillingSubscription:
    """Bills ``plan`` from ``effective_date`` on (the period is split there, by days).

    Periods already invoiced are corrected: a cheaper result becomes a credit note, a dearer
    one a charge on the next invoice. Raises NotFound for an unknown subscription.
    """
    with transaction.atomic(using=DB):
        subscription = _subscription_lock(subscription_id)
        # A change dated before the service started is the plan it starts on.
        _segment_put(
            subscription=subscription, effective_from=max(effective_date, subscription.start_date), plan=plan
        )
        PlanSegment.objects.filter(
            subscription=subscription, effective_from__gt=max(effective_date, subscription.start_date)
        ).delete()
        _invoiced_periods_adjust(subscription=subscription, since=effective_date, now=now)
        return subscription


def subscription_cancel(*, subscription_id: int, effective_date: date, now: datetime) -> BillingSubscription:
    """Stops billing after ``effective_date`` (its last day of service); days already invoiced
    past it are credited. Raises NotFound for an unknown subscription."""
    with transaction.atomic(using=DB):
        subscription = _subscription_lock(subscription_id)
        subscription.end_date = max(effective_date, subscription.start_date)
        subscription.save(update_fields=["end_date"])
        _invoiced_periods_adjust(subscription=subscription, since=effective_date, now=now)
        return subscription


def subscription_segments(subscription: BillingSubscription) -> list[pricing.Segment]:
    return [
        pricing.Segment(s.effective_from, s.plan_code, s.plan_name, s.monthly_price, s.tax_rate)
        for s in subscription.segments.order_by("effective_from")
    ]


def _invoiced_periods_adjust(*, subscription: BillingSubscription, since: date, now: datetime) -> None:
    """Re-prices the invoiced periods ending on or after ``since`` with the current plans and
    dates; per IVA rate, what was billed too much is credited, too little charged next time."""
    segments = subscription_segments(subscription)
    invoices = Invoice.objects.filter(subscription=subscription, period_end__gte=since).exclude(
        status=InvoiceStatus.VOID
    )
    for invoice in invoices.order_by("period_start"):
        wanted: dict[Decimal, Decimal] = defaultdict(Decimal)
        for draft in pricing.period_lines(
            segments=segments,
            start_date=subscription.start_date,
            end_date=subscription.end_date,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
        ):
            wanted[draft.tax_rate] += draft.subtotal
        billed: dict[Decimal, Decimal] = defaultdict(Decimal)
        for row in invoice.lines.filter(days__gt=0).values("tax_rate").annotate(s=Sum("subtotal")):
            billed[row["tax_rate"]] += row["s"]
        for row in invoice.adjustments.values("tax_rate").annotate(s=Sum("amount")):
            billed[row["tax_rate"]] += row["s"]
        for row in (
            invoice.credit_notes.filter(adjusts_period=True).values("tax_rate").annotate(s=Sum("subtotal"))
        ):
            billed[row["tax_rate"]] -= row["s"]
        for rate in sorted(set(wanted) | set(billed)):
            difference = wanted[rate] - billed[rate]
            if difference > 0:
                PendingCharge.objects.create(
                    subscription=subscription,
                    description=_("Plan change, period %(period)s") % {"period": _period_label(invoice)},
                    amount=difference,
                    tax_rate=rate,
                    created_at=now,
                    adjusts=invoice,
                )
            elif difference < 0:
                credit_note_issue(
                    invoice=invoice,
                    subtotal=-difference,
                    tax_rate=rate,
                    reason=_("Days not served, period %(period)s") % {"period": _period_label(invoice)},
                    now=now,
                    adjusts_period=True,
                )


def _period_label(invoice: Invoice) -> str:
    return f"{invoice.period_start:%d/%m/%Y}-{invoice.period_end:%d/%m/%Y}"


# --- credit notes ------------------------------------------------------------------------------------


def credit_note_issue(
    *,
    invoice: Invoice,
    subtotal: Decimal,
    tax_rate: Decimal,
    reason: str,
    now: datetime,
    issued_by: str = "",
    adjusts_period: bool = False,
) -> CreditNote:
    """Credits ``subtotal`` (plus its IVA) of ``invoice``: applied to that invoice first, the rest
    is credit for the next. Raises DomainError when it would credit more than the invoice's
    total still uncredited, or for a void invoice.
    """
    if not reason.strip():
        raise DomainError(_("Say why the credit note is issued."), code="reason_required")
    draft = pricing.line(description=reason, subtotal=subtotal, tax_rate=tax_rate)
    if draft.subtotal <= 0:
        raise DomainError(_("The amount to credit must be positive."), code="invalid_amount")
    with transaction.atomic(using=DB):
        account = account_lock(client_id=invoice.client_id)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status == InvoiceStatus.VOID:
            raise DomainError(_("A void invoice cannot be credited."), code="invoice_void")
        credited = invoice.credit_notes.aggregate(s=Sum("total"))["s"] or Decimal("0.00")
        if credited + draft.total > invoice.total:
            raise DomainError(
                _("Invoice %(number)s has only %(left)s left to credit.")
                % {"number": invoice.number, "left": f"{invoice.total - credited:.2f}"},
                code="credit_exceeds_invoice",
            )
        balance_before = client_balance(client_id=invoice.client_id)
        establishment, point, sequential = numbers_reserve(kind=DocumentKind.CREDIT_NOTE, count=1)
        note = CreditNote.objects.create(
            number=pricing.document_number(establishment, point, sequential),
            establishment=establishment,
            emission_point=point,
            sequential=sequential,
            client_id=invoice.client_id,
            invoice=invoice,
            reason=reason,
            subtotal=draft.subtotal,
            tax_rate=tax_rate,
            tax=draft.tax,
            total=draft.total,
            unallocated=draft.total,
            issued_by=issued_by,
            adjusts_period=adjusts_period,
            created_at=now,
        )
        credits_allocate(client_id=invoice.client_id, now=now, first=invoice)
        outbox_put(
            using=DB,
            topic=catalog.BILLING_EVENTS,
            key=str(invoice.client_id),
            envelope=Envelope.new(
                type="billing.credit_note.issued",
                data={
                    "client_id": invoice.client_id,
                    "number": note.number,
                    "invoice_number": invoice.number,
                    "total": f"{note.total:.2f}",
                    "reason": reason,
                },
                source=SOURCE,
                occurred_at=now,
            ),
        )
        settlement_check(account=account, balance_before=balance_before, now=now, reason="credit_note")
        return note


def invoice_void(*, invoice: Invoice, now: datetime) -> Invoice:
    """Voids an invoice nothing was applied to yet (issued in error); its number stays used.

    Raises DomainError when payments or credit notes were applied to it: credit it instead.
    """
    with transaction.atomic(using=DB):
        account = account_lock(client_id=invoice.client_id)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.amount_paid > 0 or invoice.credit_notes.exists():
            raise DomainError(
                _("Invoice %(number)s has payments or credit notes applied: issue a credit note instead.")
                % {"number": invoice.number},
                code="invoice_has_payments",
            )
        balance_before = client_balance(client_id=invoice.client_id)
        invoice.status = InvoiceStatus.VOID
        invoice.save(update_fields=["status"])
        PendingCharge.objects.filter(invoice=invoice).update(invoice=None)
        settlement_check(account=account, balance_before=balance_before, now=now, reason="invoice_void")
        return invoice


# --- promises to pay ---------------------------------------------------------------------------------


def promise_to_pay_grant(*, client_id: int, days: int, today: date, granted_by: str) -> BillingAccount:
    """No suspension for non-payment of the client until ``days`` from ``today`` (included).

    Raises DomainError for days outside 1-60.
    """
    if not 1 <= days <= 60:
        raise DomainError(_("A promise to pay lasts between 1 and 60 days."), code="invalid_days")
    with transaction.atomic(using=DB):
        account = account_lock(client_id=client_id)
        account.promise_until = today + timedelta(days=days)
        account.promise_by = granted_by
        account.save(update_fields=["promise_until", "promise_by", "updated_at"])
        return account
