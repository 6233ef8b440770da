"""The billing dashboard's figures (a read: no writes, no locks).

What staff see at a glance: billed and collected this month, the accounts declared overdue and
what is past due, today's payments, and collections per day of the month. Days and months are
the business's (``TIME_ZONE``, America/Guayaquil), not UTC's.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from backoffice.billing.models import ZERO, BillingAccount, Invoice, InvoiceStatus, Payment


@dataclass(frozen=True)
class DayCollected:
    day: date
    amount: Decimal
    payments: int


@dataclass(frozen=True)
class Dashboard:
    month: date  # its first day
    billed: Decimal  # invoices issued this month (not void), IVA included
    invoices: int
    collected: Decimal  # payments received this month, every method
    overdue_accounts: int  # declared overdue (billing.account.overdue) and not settled
    overdue_amount: Decimal  # what is left to pay of invoices past their due date
    payments_today: int
    collected_today: Decimal
    per_day: list[DayCollected]  # every day of the month up to today, zeros included


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def billing_dashboard(*, today: date) -> Dashboard:
    """The figures of ``today``'s month, up to and including ``today``."""
    month = today.replace(day=1)
    next_month = month + timedelta(days=calendar.monthrange(month.year, month.month)[1])
    issued = (
        Invoice.objects.filter(issue_date__gte=month, issue_date__lt=next_month)
        .exclude(status=InvoiceStatus.VOID)
        .aggregate(total=Sum("total"), count=Count("id"))
    )
    received = Payment.objects.filter(
        received_at__gte=_local_midnight(month), received_at__lt=_local_midnight(next_month)
    )
    by_day = {
        row["day"]: DayCollected(row["day"], row["amount"], row["count"])
        for row in received.annotate(day=TruncDate("received_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(amount=Sum("amount"), count=Count("id"))
    }
    per_day = [
        by_day.get(month + timedelta(days=n), DayCollected(month + timedelta(days=n), ZERO, 0))
        for n in range((today - month).days + 1)
    ]
    past_due = Invoice.objects.filter(status=InvoiceStatus.OVERDUE).aggregate(
        due=Sum(F("total") - F("amount_paid"))
    )
    return Dashboard(
        month=month,
        billed=issued["total"] or ZERO,
        invoices=issued["count"],
        collected=sum((d.amount for d in by_day.values()), ZERO),
        overdue_accounts=BillingAccount.objects.filter(overdue=True).count(),
        overdue_amount=past_due["due"] or ZERO,
        payments_today=per_day[-1].payments,
        collected_today=per_day[-1].amount,
        per_day=per_day,
    )
