"""Money received: payments, their allocations to invoices, and online checkouts with the
gateway events that confirmed them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backoffice.billing.models.documents import CreditNote, Invoice
from backoffice.billing.models.fields import ZERO, money


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    TRANSFER = "transfer", _("Bank transfer")
    STRIPE = "stripe", _("Card (Stripe)")
    PAYPAL = "paypal", _("PayPal")
    DEMO = "demo", _("Demo gateway")


class Payment(models.Model):
    """Money received from a client; applied to the ledger exactly once."""

    client_id = models.BigIntegerField(_("client"), db_index=True)
    amount = money(_("amount"))
    currency = models.CharField(max_length=3, default="USD")
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    # The gateway's id of the captured payment: a payment is applied once even when its
    # webhooks race (unique), e.g. "stripe:pi_123".
    gateway_payment_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    recorded_by = models.CharField(_("recorded by"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("received at"))
    unallocated = money(_("credit left"), default=ZERO)

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
    amount = money(_("amount"))
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
    amount = money(_("amount"))
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
