"""Gives the demo subscribers (clients 1-6, subscriptions 1001-1006) a billing history.

Billing's read model normally comes from the clients service's events (consumer
``billing-clients``); until the clients service seeds its demo data, this command writes the
same rows through the same service functions the consumer calls, so the billing run, the
ledger and dunning see exactly what they would. Then, as if the demo had been running:

- last month's invoices were issued on its 1st; every subscriber paid theirs in cash, except
  the ``--overdue-client`` ones;
- this month's invoices are issued today (so every subscriber has one to see and pay), and no
  balance reaches zero (no ``billing.account.settled`` at start);
- dunning runs today: an unpaid invoice of last month is past its due date and the grace
  period, so its client is declared overdue (``billing.account.overdue``), and the network
  service suspends them: the pay-to-reconnect flow can be tried at once.

Idempotent: subscriptions already known are kept, invoices are issued once per period, a
paid invoice is not paid again, an overdue account is declared overdue once.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from backoffice.billing import invoicing, ledger, services
from backoffice.billing.dunning import dunning_run
from backoffice.billing.models import OPEN_STATUSES, Invoice, PaymentMethod
from backoffice.demo import DemoSeedCommand

IVA = Decimal("0.15")
PLANS = {
    "hogar-20": services.PlanTerms(
        code="hogar-20", name="Hogar 20", monthly_price=Decimal("25.00"), tax_rate=IVA
    ),
    "hogar-50": services.PlanTerms(
        code="hogar-50", name="Hogar 50", monthly_price=Decimal("35.00"), tax_rate=IVA
    ),
    "pyme-100": services.PlanTerms(
        code="pyme-100", name="Pyme 100", monthly_price=Decimal("79.90"), tax_rate=IVA
    ),
}
# (client id, name, cedula/RUC, e-mail, language, subscription id, plan): the same subscribers
# and plans as seed_network_demo; client 1 is subscriber@enlace.demo (Alice).
DEMO_CLIENTS = [
    (1, "Alice Subscriber", "cedula", "1710034065", "subscriber@enlace.demo", "es", 1001, "hogar-20"),
    (2, "Carlos Andrade", "cedula", "0912345675", "carlos.andrade@example.ec", "es", 1002, "hogar-20"),
    (3, "María José Cevallos", "cedula", "1803456782", "mj.cevallos@example.ec", "es", 1003, "hogar-50"),
    (
        4,
        "Ferretería El Tornillo",
        "ruc",
        "1791234567001",
        "pagos@eltornillo.example.ec",
        "es",
        1004,
        "pyme-100",
    ),
    (5, "John Miller", "passport", "X1234567", "john.miller@example.com", "en", 1005, "hogar-50"),
    (6, "Lucía Paredes", "cedula", "0601234569", "lucia.paredes@example.ec", "es", 1006, "hogar-20"),
]
BILLING_DAY = 1


def _month_before(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


class Command(DemoSeedCommand):
    help = "Billing history for the demo subscribers: invoices, payments, one overdue account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--overdue-client",
            type=int,
            action="append",
            default=[],
            help="a demo client who did not pay last month (repeatable); none by default",
        )
        parser.add_argument("--today", help="YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--without-dunning",
            action="store_true",
            help="leave dunning to a later `dunning_run` (the dev stack runs it once the network "
            "service holds the demo services, so an overdue account finds its service to suspend)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        known = {row[0] for row in DEMO_CLIENTS}
        unpaid = set(options["overdue_client"])
        if unpaid - known:
            raise CommandError(f"--overdue-client: demo clients are {min(known)} to {max(known)}")
        if options["today"]:
            today = date.fromisoformat(options["today"])
            now = timezone.make_aware(datetime.combine(today, time(9, 0)))
        else:
            now = timezone.now()
            today = timezone.localdate(now)
        last_month = _month_before(today)
        for client_id, name, id_type, identification, email, language, subscription_id, plan in DEMO_CLIENTS:
            services.account_upsert(
                client_id=client_id,
                name=name,
                identification_type=id_type,
                identification=identification,
                billing_email=email,
                language=language,
            )
            services.subscription_register(
                subscription_id=subscription_id,
                client_id=client_id,
                billing_day=BILLING_DAY,
                start_date=last_month,
                plan=PLANS[plan],
                now=now,
            )
        # Last month's run, on its 1st, and this month's, today.
        issued = invoicing.billing_run(
            month=last_month, today=last_month, now=now, billing_days=[BILLING_DAY]
        ).issued
        issued += invoicing.billing_run(month=today, today=today, now=now, billing_days=[BILLING_DAY]).issued
        # Then last month's payments (received on its 5th), recorded after this month's invoices
        # so that no balance reaches zero: the demo starts without billing.account.settled
        # events, which would race with whatever a tester does to the network first.
        paid_on = timezone.make_aware(datetime.combine(last_month.replace(day=5), time(10, 0)))
        payments = 0
        for invoice in Invoice.objects.filter(
            client_id__in=known - unpaid, period_start=last_month, status__in=OPEN_STATUSES
        ).order_by("client_id"):
            ledger.payment_record(
                client_id=invoice.client_id,
                amount=invoice.amount_due,
                method=PaymentMethod.CASH,
                reference=f"demo {invoice.number}",
                recorded_by="billing@enlace.demo",
                received_at=paid_on,
                now=now,
            )
            payments += 1
        summary = f"{len(DEMO_CLIENTS)} demo billing accounts, {issued} invoices issued, {payments} payments"
        if options["without_dunning"]:
            self.stdout.write(summary)
            return
        dunning = dunning_run(today=today, now=now)
        self.stdout.write(f"{summary}, {dunning.overdue_accounts} accounts declared overdue")
