"""Registers the demo routers and provisions demo subscribers on them (idempotent)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from backoffice.demo import DemoSeedCommand
from backoffice.network.models import Router, Service
from backoffice.network.services import router_create, service_create

# (client_id, subscription_id, plan, download, upload); client 1 is subscriber@enlace.demo.
DEMO_SUBSCRIBERS = [
    (1, 1001, "hogar-20", "20M", "5M"),
    (2, 1002, "hogar-20", "20M", "5M"),
    (3, 1003, "hogar-50", "50M", "10M"),
    (4, 1004, "pyme-100", "100M", "20M"),
    (5, 1005, "hogar-50", "50M", "10M"),
    (6, 1006, "hogar-20", "20M", "5M"),
]


class Command(DemoSeedCommand):
    help = "Registers demo routers (JSON list of {name, port, username, password}) and demo services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--routers", required=True, help='JSON, e.g. [{"name": "r1", "port": 8728, ...}]')
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            specs = json.loads(options["routers"])
        except ValueError as exc:
            raise CommandError(f"--routers is not JSON: {exc}") from exc
        if not specs:
            raise CommandError("--routers lists no router")
        routers: list[Router] = []
        for index, spec in enumerate(specs):
            router = Router.objects.filter(name=spec["name"]).first()
            if router is None:
                router = router_create(
                    name=spec["name"],
                    host=options["host"],
                    api_port=int(spec["port"]),
                    username=spec.get("username", "admin"),
                    password=spec.get("password", ""),
                    site=f"Demo site {index + 1}",
                    address_pool=f"10.{20 + index}.0.0/24",
                )
            routers.append(router)
        now = timezone.now()
        created = 0
        for position, (client_id, subscription_id, plan, download, upload) in enumerate(DEMO_SUBSCRIBERS):
            if Service.objects.filter(subscription_id=subscription_id).exists():
                continue
            service_create(
                subscription_id=subscription_id,
                client_id=client_id,
                router=routers[position % len(routers)],
                pppoe_username=f"demo{client_id:04d}",
                pppoe_password=f"pppoe-demo-{client_id}",
                plan_code=plan,
                download=download,
                upload=upload,
                now=now,
            )
            created += 1
        self.stdout.write(f"{len(routers)} demo routers, {created} demo services created")
