"""``python -m backoffice billing_run --month 2025-03``: the billing run, with a progress bar."""

from __future__ import annotations

import sys
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from backoffice.billing import invoicing


def _month(value: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise CommandError(f"--month {value!r}: use YYYY-MM, e.g. 2025-03") from None


class ProgressBar:
    """A one-line bar on a terminal (a line per 10 % elsewhere, e.g. in a log)."""

    def __init__(self, total: int, out: Any, width: int = 40) -> None:
        self.total, self.out, self.width = max(total, 1), out, width
        self.done = 0
        self.started = time.monotonic()
        self.tty = hasattr(out, "isatty") and out.isatty()
        self._last_tenth = -1

    def advance(self, count: int) -> None:
        self.done += count
        share = min(self.done / self.total, 1.0)
        elapsed = time.monotonic() - self.started
        text = f"{self.done:>9,}/{self.total:,} {share:6.1%} {elapsed:6.1f} s"
        if self.tty:
            filled = int(share * self.width)
            self.out.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {text}")
            self.out.flush()
        elif int(share * 10) != self._last_tenth:
            self._last_tenth = int(share * 10)
            self.out.write(text + "\n")

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")


class Command(BaseCommand):
    help = "Issues the invoices of a month's periods (only those missing: safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM: the month the periods start in")
        parser.add_argument("--day", type=int, action="append", help="only this billing day (repeatable)")
        parser.add_argument("--today", help="issue date YYYY-MM-DD (default: today)")
        parser.add_argument("--chunk-size", type=int, default=invoicing.CHUNK)

    def handle(self, *args: Any, **options: Any) -> None:
        month = _month(options["month"])
        days = options["day"]
        if days and not all(1 <= day <= 28 for day in days):
            raise CommandError("--day: billing days are 1 to 28")
        today = date.fromisoformat(options["today"]) if options["today"] else timezone.localdate()
        total = invoicing.billing_run_pending(month=month, billing_days=days)
        self.stdout.write(f"{total:,} subscriptions to invoice for {month:%Y-%m}")
        bar = ProgressBar(total, sys.stdout if self.stdout._out is sys.stdout else self.stdout)
        result = invoicing.billing_run(
            month=month,
            today=today,
            now=timezone.now(),
            billing_days=days,
            chunk_size=options["chunk_size"],
            progress=bar.advance,
        )
        bar.close()
        self.stdout.write(
            self.style.SUCCESS(f"{result.issued:,} invoices issued")
            + (
                f"; {result.waiting_for_account:,} wait for their client's details"
                if result.waiting_for_account
                else ""
            )
        )
