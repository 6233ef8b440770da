"""Dunning: its settings (one row) and the reminders sent."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from backoffice.billing.models.documents import Invoice


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
