"""Celery tasks of the billing service: thin wrappers that call one service function.

Tasks take keyword arguments and tolerate extra ones, so work queued by an older deploy still
runs. Celery beat schedules ``billing_daily`` once a day (see docs/billing.md).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone


@shared_task(name="billing.daily")
def billing_daily(**_: Any) -> dict[str, int]:
    """Today's billing run (subscriptions billed on today's day of the month), then dunning."""
    from backoffice.billing.dunning import dunning_run
    from backoffice.billing.invoicing import billing_run

    now = timezone.now()
    today = timezone.localdate(now)
    issued = 0
    if today.day <= 28:
        issued = billing_run(month=today, today=today, now=now, billing_days=[today.day]).issued
    dunning = dunning_run(today=today, now=now)
    return {"issued": issued, "reminders": dunning.reminders, "overdue_accounts": dunning.overdue_accounts}


@shared_task(name="billing.invoices_email")
def invoices_email(**_: Any) -> int:
    """E-mails the PDFs of invoices not sent yet, a batch per call (beat: every few minutes)."""
    from backoffice.billing.documents import invoices_email_pending

    return invoices_email_pending(now=timezone.now())
