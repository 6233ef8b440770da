"""Tables of the billing service (database alias "billing", see backoffice.databases).

Billing keeps its own read model of what it invoices (:class:`BillingAccount`,
:class:`BillingSubscription` and its :class:`PlanSegment` price history), built from the
clients service's events; other services' objects are referred to by id only.

The ledger is the client's documents: invoices (debits), payments and credit notes (credits).
A payment or credit note is *allocated* to invoices (:class:`Allocation`); what is left of it
(``unallocated``) is the client's credit, applied to the next invoice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


def _money(verbose_name: Any, **kwargs: Any) -> Any:
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class BillingAccount(models.Model):
    """One client as billing knows it; its row is locked while its money moves."""

    client_id = models.BigIntegerField(_("client"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    identification_type = models.CharField(_("identification type"), max_length=16, blank=True)
    identification = models.CharField(_("identification"), max_length=32, blank=True)
    billing_email = models.EmailField(_("billing e-mail"), blank=True)
    language = models.CharField(_("language"), max_length=2, default="es")
    # Whether billing.account.overdue was published and not yet followed by settled.
    overdue = models.BooleanField(_("overdue"), default=False)
    overdue_since = models.DateTimeField(_("overdue since"), null=True, blank=True)
    # A promise to pay granted by staff: no suspension for non-payment until this day (included).
    promise_until = models.DateField(_("promise to pay until"), null=True, blank=True)
    promise_by = models.CharField(_("promise granted by"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client_id"]
        verbose_name = _("billing account")
        verbose_name_plural = _("billing accounts")

    def __str__(self) -> str:
        return f"{self.client_id} {self.name}"


class BillingSubscription(models.Model):
    """A subscription billing invoices: its billing day and the dates its service runs."""

    subscription_id = models.BigIntegerField(_("subscription"), unique=True)
    client_id = models.BigIntegerField(_("client"), db_index=True)
    billing_day = models.PositiveSmallIntegerField(_("billing day"))
    start_date = models.DateField(_("start date"))
    # The last day of service once cancelled (billed up to and including it).
    end_date = models.DateField(_("end date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subscription_id"]
        verbose_name = _("billed subscription")
        verbose_name_plural = _("billed subscriptions")

    def __str__(self) -> str:
        return f"subscription {self.subscription_id}"


class PlanSegment(models.Model):
    """The plan (and price) a subscription is billed at from ``effective_from`` on."""

    subscription = models.ForeignKey(BillingSubscription, on_delete=models.CASCADE, related_name="segments")
    effective_from = models.DateField(_("effective from"))
    plan_code = models.CharField(_("plan"), max_length=64)
    plan_name = models.CharField(_("plan name"), max_length=200)
    monthly_price = _money(_("monthly price"))
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4)

    class Meta:
        ordering = ["subscription", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "effective_from"], name="billing_segment_once")
        ]

    def __str__(self) -> str:
        return f"{self.plan_code} from {self.effective_from}"


class PendingCharge(models.Model):
    """A one-off charge for a subscription's next invoice (installation, plan-change difference)."""

    subscription = models.ForeignKey(BillingSubscription, on_delete=models.CASCADE, related_name="charges")
    description = models.CharField(_("description"), max_length=200)
    amount = _money(_("amount"))  # without tax
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4)
    created_at = models.DateTimeField()
    # The invoice that billed this charge (empty: still pending).
    invoice = models.ForeignKey(
        "Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    # The invoiced period this charge corrects (a plan change after it was issued).
    adjusts = models.ForeignKey(
        "Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="adjustments"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["subscription"], condition=Q(invoice__isnull=True), name="billing_charge_pending_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.description} {self.amount}"


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
    subtotal = _money(_("subtotal"))
    tax = _money(_("IVA"))
    total = _money(_("total"))
    amount_paid = _money(_("paid"), default=ZERO)  # allocated payments and credit notes
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
    unit_price = _money(_("unit price"))
    subtotal = _money(_("subtotal"))
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    tax = _money(_("IVA"))
    total = _money(_("total"))

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
    subtotal = _money(_("subtotal"))
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    tax = _money(_("IVA"))
    total = _money(_("total"))
    # Whether it corrects the invoiced period's days or plan (computed), not a staff decision.
    adjusts_period = models.BooleanField(default=False)
    unallocated = _money(_("credit left"), default=ZERO)
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


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    TRANSFER = "transfer", _("Bank transfer")
    STRIPE = "stripe", _("Card (Stripe)")
    PAYPAL = "paypal", _("PayPal")
    DEMO = "demo", _("Demo gateway")


class Payment(models.Model):
    """Money received from a client; applied to the ledger exactly once."""

    client_id = models.BigIntegerField(_("client"), db_index=True)
    amount = _money(_("amount"))
    currency = models.CharField(max_length=3, default="USD")
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    # The gateway's id of the captured payment: a payment is applied once even when its
    # webhooks race (unique), e.g. "stripe:pi_123".
    gateway_payment_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    recorded_by = models.CharField(_("recorded by"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("received at"))
    unallocated = _money(_("credit left"), default=ZERO)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["client_id"], condition=Q(unallocated__gt=0), name="billing_payment_credit_idx"
            )
        ]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.method}) client {self.client_id}"


class Allocation(models.Model):
    """Part of a payment or credit note applied to an invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, related_name="allocations")
    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.PROTECT, null=True, related_name="allocations"
    )
    amount = _money(_("amount"))
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(payment__isnull=False) ^ Q(credit_note__isnull=False),
                name="billing_allocation_one_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} to invoice {self.invoice_id}"


class CheckoutStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the payment")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed or expired")


class Checkout(models.Model):
    """A payment started at a gateway (a Stripe Checkout Session, a PayPal order)."""

    reference = models.UUIDField(unique=True)  # ours, sent to the gateway and back
    gateway = models.CharField(max_length=16)
    gateway_checkout_id = models.CharField(max_length=200, unique=True)
    client_id = models.BigIntegerField(db_index=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True)
    amount = _money(_("amount"))
    currency = models.CharField(max_length=3, default="USD")
    redirect_url = models.URLField(max_length=2000)
    status = models.CharField(max_length=8, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.gateway} {self.gateway_checkout_id} ({self.status})"


class GatewayEvent(models.Model):
    """A verified webhook event; its id is recorded once, so a redelivery changes nothing."""

    gateway = models.CharField(max_length=16)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="billing_gateway_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_id}"


class DunningSettings(models.Model):
    """Reminder days around the due date and the grace period (one row, edited in the admin)."""

    # Days relative to the due date: -3 = three days before, 0 = on the day, 3 = three days after.
    reminder_offsets = models.JSONField(_("reminder days"), default=list)
    grace_days = models.PositiveSmallIntegerField(_("grace period (days)"), default=5)
    due_days = models.PositiveSmallIntegerField(_("days to pay an invoice"), default=10)

    class Meta:
        verbose_name = _("dunning settings")
        verbose_name_plural = _("dunning settings")

    def __str__(self) -> str:
        return f"reminders {self.reminder_offsets}, grace {self.grace_days} days"


class Reminder(models.Model):
    """A reminder sent for an invoice at one offset (unique: sent once)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    offset_days = models.SmallIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "offset_days"], name="billing_reminder_once")
        ]

    def __str__(self) -> str:
        return f"invoice {self.invoice_id} at {self.offset_days:+d} days"
