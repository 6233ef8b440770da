"""Billing's read model of the clients service: accounts, subscriptions, their price
history and the one-off charges waiting for the next invoice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backoffice.billing.models.fields import money


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
    monthly_price = money(_("monthly price"))
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
    amount = money(_("amount"))  # without tax
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
