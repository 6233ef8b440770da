"""The documents of the ledger billing numbers: invoices and their lines, credit notes, and
the counters that number them.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backoffice.billing.models.accounts import BillingSubscription
from backoffice.billing.models.fields import ZERO, money


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class NumberCounter(models.Model):
    """The last number used per establishment, emission point and kind of document.

    Locked (``select_for_update``) in the transaction that inserts the documents it numbers,
    so numbers are gap-free and never reused, whatever runs concurrently.
    """

    establishment = models.CharField(max_length=3)
    emission_point = models.CharField(max_length=3)
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "emission_point", "kind"], name="billing_counter_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.establishment}-{self.emission_point} {self.kind}: {self.last_number}"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")
    VOID = "void", _("Void")


OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)


class Invoice(models.Model):
    """One subscription's invoice for one period (unique), numbered ``001-001-000000001``."""

    number = models.CharField(_("number"), max_length=17, unique=True)
    establishment = models.CharField(max_length=3)
    emission_point = models.CharField(max_length=3)
    sequential = models.PositiveBigIntegerField()
    client_id = models.BigIntegerField(_("client"))
    subscription = models.ForeignKey(BillingSubscription, on_delete=models.PROTECT, related_name="invoices")
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    # Who the invoice is made out to, as it was when issued (a legal document does not change).
    customer_name = models.CharField(max_length=200)
    customer_identification = models.CharField(max_length=32, blank=True)
    language = models.CharField(max_length=2, default="es")
    currency = models.CharField(max_length=3, default="USD")
    subtotal = money(_("subtotal"))
    tax = money(_("IVA"))
    total = money(_("total"))
    amount_paid = money(_("paid"), default=ZERO)  # allocated payments and credit notes
    status = models.CharField(
        _("status"), max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )
    created_at = models.DateTimeField()
    # When its PDF was e-mailed to the billing address (empty: still to send).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issue_date", "-sequential"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            # One invoice per subscription per period: re-running a billing run adds nothing.
            models.UniqueConstraint(fields=["subscription", "period_start"], name="billing_invoice_once"),
            models.UniqueConstraint(
                fields=["establishment", "emission_point", "sequential"], name="billing_invoice_sequential"
            ),
        ]
        indexes = [
            models.Index(fields=["client_id", "issue_date"], name="billing_invoice_client_idx"),
            models.Index(
                fields=["due_date"],
                condition=Q(status__in=["issued", "partially_paid", "overdue"]),
                name="billing_invoice_open_idx",
            ),
            models.Index(
                fields=["id"], condition=Q(emailed_at__isnull=True), name="billing_invoice_unsent_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_due(self) -> Decimal:
        if self.status == InvoiceStatus.VOID:
            return ZERO
        return self.total - self.amount_paid


class InvoiceLine(models.Model):
    """A line with its own IVA: ``tax`` = ``subtotal`` x ``tax_rate``, rounded half-up to cents."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    # Days billed of ``period_days`` (a whole period: equal); one-off charges: 0 and 0.
    days = models.PositiveSmallIntegerField(default=0)
    period_days = models.PositiveSmallIntegerField(default=0)
    unit_price = money(_("unit price"))
    subtotal = money(_("subtotal"))
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    tax = money(_("IVA"))
    total = money(_("total"))

    class Meta:
        ordering = ["invoice", "position"]

    def __str__(self) -> str:
        return f"{self.description} {self.total}"


class CreditNote(models.Model):
    """A credit against an invoice (a refund of days not served, a correction)."""

    number = models.CharField(_("number"), max_length=17, unique=True)
    establishment = models.CharField(max_length=3)
    emission_point = models.CharField(max_length=3)
    sequential = models.PositiveBigIntegerField()
    client_id = models.BigIntegerField(_("client"), db_index=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    reason = models.CharField(_("reason"), max_length=300)
    subtotal = money(_("subtotal"))
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    tax = money(_("IVA"))
    total = money(_("total"))
    # Whether it corrects the invoiced period's days or plan (computed), not a staff decision.
    adjusts_period = models.BooleanField(default=False)
    unallocated = money(_("credit left"), default=ZERO)
    issued_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "emission_point", "sequential"],
                name="billing_credit_note_sequential",
            )
        ]

    def __str__(self) -> str:
        return self.number
