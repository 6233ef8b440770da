"""Registers the demo routers with the network service (idempotent).

Subscribers are not invented here: they come from the clients service (``seed_clients_demo``),
whose subscription events the ``network-clients`` consumer provisions on these routers.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from backoffice.demo import DemoSeedCommand
from backoffice.network.models import Router
from backoffice.network.services import router_create


class Command(DemoSeedCommand):
    help = "Registers demo routers (JSON list of {name, port, username, password})."

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
        created = 0
        for index, spec in enumerate(specs):
            if Router.objects.filter(name=spec["name"]).exists():
                continue
            router_create(
                name=spec["name"],
                host=options["host"],
                api_port=int(spec["port"]),
                username=spec.get("username", "admin"),
                password=spec.get("password", ""),
                site=f"Demo site {index + 1}",
                address_pool=f"10.{20 + index}.0.0/24",
            )
            created += 1
        self.stdout.write(f"{len(specs)} demo routers ({created} new)")
