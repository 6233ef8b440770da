"""``python -m backoffice seed_clients_demo --routers r1,r2``: demo plans, clients 1-6 and their
subscriptions 1001-1006 through the clients service (idempotent).

The subscriptions' events provision the network through its consumers, and client 1's event
gives subscriber@enlace.demo (seeded by identity) nothing new: that account is already linked.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connections
from django.utils import timezone

from backoffice.clients import services
from backoffice.clients.models import Client, Plan, RouterPool, Subscription
from backoffice.demo import DemoSeedCommand

PLANS = [
    ("hogar-20", "Hogar 20", "20M", "5M", Decimal("25.00")),
    ("hogar-50", "Hogar 50", "50M", "10M", Decimal("35.00")),
    ("pyme-100", "Pyme 100", "100M", "20M", Decimal("80.00")),
]
# (client_id, name, cédula, e-mail, plan); client 1 is subscriber@enlace.demo.
CLIENTS = [
    (1, "Alice Subscriber", "1710034065", "subscriber@enlace.demo", "hogar-20"),
    (2, "Bruno Carrión", "0102030400", "", "hogar-20"),
    (3, "Daniela Espinoza", "0926687856", "", "hogar-50"),
    (4, "Ferretería Gómez", "1790011674001", "", "pyme-100"),
    (5, "Gabriela Herrera", "1803456787", "", "hogar-50"),
    (6, "Iván Jaramillo", "1104567894", "", "hogar-20"),
]


class Command(DemoSeedCommand):
    help = "Creates demo plans, clients 1-6 and subscriptions 1001-1006 on the given routers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--routers", required=True, help="router names, comma-separated (e.g. r1,r2)")

    def handle(self, *args: Any, **options: Any) -> None:
        routers = [name for name in options["routers"].split(",") if name]
        if not routers:
            raise CommandError("--routers names no router")
        now = timezone.now()
        for index, router in enumerate(routers):
            if not RouterPool.objects.filter(router=router).exists():
                services.router_pool_set(router=router, network=f"10.{20 + index}.0.0/24")
        for code, name, download, upload, price in PLANS:
            if not Plan.objects.filter(code=code).exists():
                services.plan_create(
                    code=code, name=name, download=download, upload=upload, monthly_price=price, now=now
                )
        created = 0
        for position, (client_id, name, identification, email, plan_code) in enumerate(CLIENTS):
            client = Client.objects.filter(pk=client_id).first()
            if client is None:
                client = services.client_create(
                    client_id=client_id,
                    kind="company"
                    if identification.endswith("001") and len(identification) == 13
                    else "person",
                    name=name,
                    identification_type="ruc" if len(identification) == 13 else "cedula",
                    identification=identification,
                    email=email,
                    address=f"Calle demo {client_id}, Cuenca",
                    city="Cuenca",
                    now=now,
                )
            subscription_id = 1000 + client_id
            if not Subscription.objects.filter(pk=subscription_id).exists():
                services.subscription_create(
                    subscription_id=subscription_id,
                    client=client,
                    plan=Plan.objects.get(code=plan_code),
                    router=routers[position % len(routers)],
                    pppoe_username=f"demo{client_id:04d}",
                    pppoe_password=f"pppoe-demo-{client_id}",
                    billing_day=5,
                    start_date=date(2025, 1, 1),
                    now=now,
                )
                created += 1
        # Explicit ids leave PostgreSQL's sequences behind: move them past the demo rows.
        connection = connections[services.DB]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [Client, Subscription]):
                cursor.execute(statement)
        self.stdout.write(f"{len(CLIENTS)} demo clients, {created} demo subscriptions created")
