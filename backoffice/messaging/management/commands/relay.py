"""``python -m backoffice relay [--once] [--services identity,network]``: the outbox relay."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.databases import SERVICES, service_db
from enlace_messaging.django.relay import relay_once, run_relay
from enlace_messaging.errors import BrokerUnavailable
from enlace_messaging.publisher import Publisher
from enlace_messaging.shutdown import install_signal_handlers


class Command(BaseCommand):
    help = "Publishes the outbox of each service database to Kafka (until SIGTERM, or once)."
    # A worker must not depend on the URL configuration or other apps' checks to start.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass over every outbox, then exit")
        parser.add_argument(
            "--services",
            default=",".join(settings.ENLACE_SERVICES),
            help="comma-separated services whose outbox to relay (default: ENLACE_SERVICES)",
        )
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args: Any, **options: Any) -> None:
        services = [s.strip() for s in options["services"].split(",") if s.strip()]
        unknown = [s for s in services if s not in SERVICES]
        if unknown:
            raise CommandError(f"unknown services {', '.join(unknown)}; known: {', '.join(SERVICES)}")
        aliases = [service_db(s) for s in services]
        publisher = Publisher(settings.KAFKA_BOOTSTRAP_SERVERS, client_options=settings.KAFKA_CLIENT_OPTIONS)
        try:
            if options["once"]:
                total = 0
                for alias in aliases:
                    try:
                        total += relay_once(
                            using=alias, publisher=publisher, batch_size=options["batch_size"]
                        )
                    except BrokerUnavailable as exc:
                        raise CommandError(f"outbox of {alias}: {exc}") from exc
                self.stdout.write(f"published {total} message(s)")
                return
            stop_event = threading.Event()
            install_signal_handlers(stop_event.set)
            run_relay(
                aliases=aliases, publisher=publisher, stop_event=stop_event, batch_size=options["batch_size"]
            )
        finally:
            publisher.close()
