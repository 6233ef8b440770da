"""``python -m backoffice seed_billing_demo``: billing demo data, through billing's own services.

Writes what the ``billing-clients`` consumer would have written (an account, a subscription and
its plan) for one client, issues its invoices with the billing run for ``--months`` months from
``--start``, and with ``--dunning-on`` runs dunning with that fixed day (so an account can be
made overdue for a demo or a test without waiting weeks). Safe to run again: the run issues only
what is missing and dunning declares an account overdue once. Refuses ``ENLACE_ENV=production``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from backoffice.billing import dunning, invoicing, services
from backoffice.demo import DemoSeedCommand


def _date(option: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r}: use YYYY-MM-DD") from None


def _noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def _month_add(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


class Command(DemoSeedCommand):
    help = "Billing demo data for one client (account, subscription, invoices) and, optionally, dunning."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client", type=int, help="the client's id (as in the clients service)")
        parser.add_argument("--subscription", type=int, help="the subscription's id (default 1000 + client)")
        parser.add_argument("--name", default="", help="the client's name")
        parser.add_argument("--email", default="", help="billing e-mail (none: no e-mails are sent)")
        parser.add_argument("--plan", default="hogar-20")
        parser.add_argument("--price", default="20.00", help="monthly price without IVA")
        parser.add_argument("--tax-rate", default="0.15")
        parser.add_argument("--start", help="YYYY-MM-DD: the service's first day; its day is the billing day")
        parser.add_argument("--months", type=int, default=1, help="months to invoice from --start (0: none)")
        parser.add_argument("--dunning-on", help="YYYY-MM-DD: then run dunning as on that day")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["client"] is not None:
            self._client_seed(options)
        elif not options["dunning_on"]:
            raise CommandError("give --client (with --start), --dunning-on, or both")
        if options["dunning_on"]:
            day = _date("--dunning-on", options["dunning_on"])
            result = dunning.dunning_run(today=day, now=_noon(day))
            self.stdout.write(
                f"dunning on {day}: {result.marked_overdue_invoices} invoices overdue, "
                f"{result.reminders} reminders, {result.overdue_accounts} accounts overdue"
            )

    def _client_seed(self, options: dict[str, Any]) -> None:
        client_id = int(options["client"])
        if not options["start"]:
            raise CommandError("--client needs --start")
        start = _date("--start", options["start"])
        if start.day > 28:
            raise CommandError("--start: the billing day (its day of the month) must be 1 to 28")
        try:
            price, tax_rate = Decimal(options["price"]), Decimal(options["tax_rate"])
        except InvalidOperation:
            raise CommandError("--price and --tax-rate must be decimals, e.g. 20.00 and 0.15") from None
        services.account_upsert(
            client_id=client_id,
            name=options["name"] or f"Client {client_id}",
            billing_email=options["email"],
        )
        services.subscription_register(
            subscription_id=options["subscription"] or 1000 + client_id,
            client_id=client_id,
            billing_day=start.day,
            start_date=start,
            plan=services.PlanTerms(
                code=options["plan"], name=options["plan"], monthly_price=price, tax_rate=tax_rate
            ),
            now=_noon(start),
        )
        issued = 0
        for offset in range(max(options["months"], 0)):
            month = _month_add(start, offset)
            today = month.replace(day=start.day)
            issued += invoicing.billing_run(
                month=month, today=today, now=_noon(today), billing_days=[start.day]
            ).issued
        self.stdout.write(f"client {client_id}: billing account and subscription, {issued} invoices issued")
