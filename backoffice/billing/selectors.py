"""Reads of the billing service; each raises NotFound (404) for what does not exist (or is
another client's, so its existence does not leak)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backoffice.access.errors import NotFound
from backoffice.billing import ledger
from backoffice.billing.models import BillingAccount, Checkout, CreditNote, Invoice, Payment


def account_get(*, client_id: int) -> BillingAccount:
    account = BillingAccount.objects.filter(client_id=client_id).first()
    if account is None:
        raise NotFound(_("Client %(id)s has no billing account.") % {"id": client_id}, code="unknown_account")
    return account


def invoice_list(*, client_id: int | None = None, status: str | None = None) -> QuerySet[Invoice]:
    invoices = Invoice.objects.all()
    if client_id is not None:
        invoices = invoices.filter(client_id=client_id)
    if status:
        invoices = invoices.filter(status=status)
    return invoices.order_by("-issue_date", "-sequential")


def invoice_get(*, number: str, client_id: int | None = None) -> Invoice:
    invoices = Invoice.objects.filter(number=number)
    if client_id is not None:
        invoices = invoices.filter(client_id=client_id)
    invoice = invoices.prefetch_related("lines").first()
    if invoice is None:
        raise NotFound(_("There is no invoice %(n)s.") % {"n": number}, code="unknown_invoice")
    return invoice


def payment_list(*, client_id: int | None = None) -> QuerySet[Payment]:
    payments = Payment.objects.all()
    if client_id is not None:
        payments = payments.filter(client_id=client_id)
    return payments.order_by("-received_at", "-id")


def checkout_get(*, reference: str, client_id: int | None = None) -> Checkout:
    checkouts = Checkout.objects.filter(reference=reference)
    if client_id is not None:
        checkouts = checkouts.filter(client_id=client_id)
    checkout = checkouts.first()
    if checkout is None:
        raise NotFound(_("There is no such payment."), code="unknown_checkout")
    return checkout


@dataclass(frozen=True)
class LedgerEntry:
    at: datetime
    kind: str  # invoice, payment, credit_note
    document: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


def ledger_entries(*, client_id: int) -> list[LedgerEntry]:
    """The client's documents in date order with the running balance (what the portal shows)."""
    rows: list[tuple[datetime, str, str, Decimal, Decimal]] = []
    for invoice in Invoice.objects.filter(client_id=client_id).exclude(status="void"):
        rows.append((invoice.created_at, "invoice", invoice.number, invoice.total, Decimal("0.00")))
    for payment in Payment.objects.filter(client_id=client_id):
        rows.append(
            (
                payment.received_at,
                "payment",
                payment.reference or payment.method,
                Decimal("0.00"),
                payment.amount,
            )
        )
    for note in CreditNote.objects.filter(client_id=client_id):
        rows.append((note.created_at, "credit_note", note.number, Decimal("0.00"), note.total))
    rows.sort(key=lambda row: row[0])
    balance = Decimal("0.00")
    entries = []
    for at, kind, document, debit, credit in rows:
        balance += debit - credit
        entries.append(LedgerEntry(at, kind, document, debit, credit, balance))
    return entries


def account_summary(*, client_id: int) -> dict[str, object]:
    account = account_get(client_id=client_id)
    open_invoices = invoice_list(client_id=client_id).filter(
        status__in=["issued", "partially_paid", "overdue"]
    )
    return {
        "client_id": client_id,
        "name": account.name,
        "balance": ledger.client_balance(client_id=client_id),
        "credit": ledger.client_credit(client_id=client_id),
        "overdue": account.overdue,
        "promise_until": account.promise_until,
        "open_invoices": open_invoices.count(),
        "next_due_date": open_invoices.order_by("due_date").values_list("due_date", flat=True).first(),
    }
