"""The client's ledger: balance, allocation of credits to invoices, payments, settlement.

Every function that moves a client's money locks the client's :class:`BillingAccount` row
(``select_for_update``) first, so two payments (or a payment and a billing run) for one client
are applied one after the other and the balance each one sees is the true one.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from backoffice.access.errors import DomainError, NotFound
from backoffice.billing.models import (
    OPEN_STATUSES,
    ZERO,
    Allocation,
    BillingAccount,
    CreditNote,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
)
from backoffice.databases import service_db
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)

DB = service_db("billing")
SOURCE = "billing"


def account_lock(*, client_id: int) -> BillingAccount:
    """The client's account, locked until the transaction ends; raises NotFound."""
    account = BillingAccount.objects.select_for_update().filter(client_id=client_id).first()
    if account is None:
        raise NotFound(
            _("Client %(id)s has no billing account yet.") % {"id": client_id}, code="unknown_account"
        )
    return account


def client_balance(*, client_id: int) -> Decimal:
    """What the client owes: invoices (not void) minus payments and credit notes.

    Negative when the client has credit in their favour.
    """
    invoiced = (
        Invoice.objects.filter(client_id=client_id)
        .exclude(status=InvoiceStatus.VOID)
        .aggregate(s=Sum("total"))["s"]
    )
    paid = Payment.objects.filter(client_id=client_id).aggregate(s=Sum("amount"))["s"]
    credited = CreditNote.objects.filter(client_id=client_id).aggregate(s=Sum("total"))["s"]
    return (invoiced or ZERO) - (paid or ZERO) - (credited or ZERO)


def client_credit(*, client_id: int) -> Decimal:
    """Payments and credit notes not yet applied to any invoice."""
    payments = Payment.objects.filter(client_id=client_id).aggregate(s=Sum("unallocated"))["s"]
    notes = CreditNote.objects.filter(client_id=client_id).aggregate(s=Sum("unallocated"))["s"]
    return (payments or ZERO) + (notes or ZERO)


def _status_after(invoice: Invoice) -> str:
    if invoice.amount_paid >= invoice.total:
        return InvoiceStatus.PAID
    if invoice.status == InvoiceStatus.OVERDUE:
        return InvoiceStatus.OVERDUE
    return InvoiceStatus.PARTIALLY_PAID if invoice.amount_paid > 0 else InvoiceStatus.ISSUED


def credits_allocate(*, client_id: int, now: datetime, first: Invoice | None = None) -> None:
    """Applies the client's unallocated payments and credit notes to their open invoices,
    ``first`` first and then the oldest due; the caller holds the account's lock.
    """
    sources: list[Payment | CreditNote] = [
        *CreditNote.objects.filter(client_id=client_id, unallocated__gt=0).order_by("created_at", "id"),
        *Payment.objects.filter(client_id=client_id, unallocated__gt=0).order_by("received_at", "id"),
    ]
    if not sources:
        return
    invoices = list(
        Invoice.objects.filter(client_id=client_id, status__in=OPEN_STATUSES).order_by("due_date", "id")
    )
    if first is not None:
        invoices.sort(key=lambda invoice: invoice.pk != first.pk)
    allocations: list[Allocation] = []
    for invoice in invoices:
        for source in sources:
            due = invoice.total - invoice.amount_paid
            if due <= 0:
                break
            amount = min(due, source.unallocated)
            if amount <= 0:
                continue
            source.unallocated -= amount
            invoice.amount_paid += amount
            allocations.append(
                Allocation(
                    invoice=invoice,
                    payment=source if isinstance(source, Payment) else None,
                    credit_note=source if isinstance(source, CreditNote) else None,
                    amount=amount,
                    created_at=now,
                )
            )
        invoice.status = _status_after(invoice)
    if not allocations:
        return
    Allocation.objects.bulk_create(allocations)
    touched = {allocation.invoice_id for allocation in allocations}
    Invoice.objects.bulk_update([i for i in invoices if i.pk in touched], ["amount_paid", "status"])
    for source in sources:
        source.save(update_fields=["unallocated"])


def settlement_check(
    *,
    account: BillingAccount,
    balance_before: Decimal,
    now: datetime,
    reason: str,
    causation: Envelope | None = None,
) -> bool:
    """Publishes ``billing.account.settled`` when the client's balance reached zero or below
    (from above it, or while marked overdue); the caller holds the account's lock.

    Returns whether it did. The network service then reactivates the services it suspended
    for non-payment.
    """
    balance = client_balance(client_id=account.client_id)
    if balance > 0 or not (balance_before > 0 or account.overdue):
        return False
    account.overdue = False
    account.overdue_since = None
    account.promise_until = None
    account.save(update_fields=["overdue", "overdue_since", "promise_until", "updated_at"])
    data = {"client_id": account.client_id, "balance": f"{balance:.2f}", "reason": reason}
    envelope = (
        causation.caused(type="billing.account.settled", data=data, source=SOURCE)
        if causation
        else Envelope.new(type="billing.account.settled", data=data, source=SOURCE, occurred_at=now)
    )
    outbox_put(using=DB, topic=catalog.BILLING_EVENTS, key=str(account.client_id), envelope=envelope)
    return True


def payment_record(
    *,
    client_id: int,
    amount: Decimal,
    method: str,
    reference: str = "",
    recorded_by: str = "",
    received_at: datetime,
    now: datetime,
    gateway_payment_id: str | None = None,
    checkout_reference: str | None = None,
    causation: Envelope | None = None,
) -> tuple[Payment, bool]:
    """Records a payment and applies it to the client's open invoices, oldest due first;
    what is left becomes credit for the next invoice. Returns (payment, created).

    A payment whose ``gateway_payment_id`` is already recorded is returned as it is
    (``created`` False): a gateway payment is applied exactly once, however many webhooks
    announce it and however they race. Raises DomainError for a non-positive amount or an
    unknown method, NotFound for a client without an account.
    """
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise DomainError(
            _("The amount must be positive, in dollars and cents (e.g. 25.50)."), code="invalid_amount"
        )
    if method not in PaymentMethod.values:
        raise DomainError(_("Unknown payment method %(m)s.") % {"m": method}, code="invalid_method")
    with transaction.atomic(using=DB):
        account = account_lock(client_id=client_id)
        # Under the account's lock: a racing delivery of the same payment waits here, then sees it.
        if gateway_payment_id is not None:
            existing = Payment.objects.filter(gateway_payment_id=gateway_payment_id).first()
            if existing is not None:
                return existing, False
        balance_before = client_balance(client_id=client_id)
        payment = Payment.objects.create(
            client_id=client_id,
            amount=amount,
            method=method,
            reference=reference,
            recorded_by=recorded_by,
            received_at=received_at,
            gateway_payment_id=gateway_payment_id,
            unallocated=amount,
        )
        credits_allocate(client_id=client_id, now=now)
        balance = client_balance(client_id=client_id)
        outbox_put(
            using=DB,
            topic=catalog.BILLING_EVENTS,
            key=str(client_id),
            envelope=Envelope.new(
                type="billing.payment.received",
                data={
                    "client_id": client_id,
                    "payment_id": payment.pk,
                    "amount": f"{amount:.2f}",
                    "method": method,
                    "balance": f"{balance:.2f}",
                    "checkout_reference": checkout_reference,
                },
                source=SOURCE,
                occurred_at=now,
                correlation_id=causation.correlation_id if causation else None,
            ),
        )
        settlement_check(account=account, balance_before=balance_before, now=now, reason="payment")
        payment.refresh_from_db()
        return payment, True
