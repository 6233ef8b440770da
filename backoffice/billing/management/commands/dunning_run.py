"""``python -m backoffice dunning_run [--today 2025-03-20]``: the day's dunning, by hand.

What Celery beat runs daily after the billing run (``billing.daily``): invoices past due become
overdue, the day's reminders go out, and accounts still owing after the grace period are
declared overdue (``billing.account.overdue``, then suspended by the network service).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from backoffice.billing.dunning import dunning_run


class Command(BaseCommand):
    help = "Runs dunning for a day: overdue invoices, reminders, overdue accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="the day to run for, YYYY-MM-DD (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["today"]:
            try:
                today = date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError(f"--today {options['today']!r}: use YYYY-MM-DD") from None
            # The events say when they happened: that day, not the wall clock's.
            now = timezone.make_aware(datetime.combine(today, time(6, 0)))
        else:
            now = timezone.now()
            today = timezone.localdate(now)
        result = dunning_run(today=today, now=now)
        self.stdout.write(
            f"{today}: {result.marked_overdue_invoices} invoices now overdue, {result.reminders} reminders, "
            f"{result.overdue_accounts} accounts declared overdue"
        )
