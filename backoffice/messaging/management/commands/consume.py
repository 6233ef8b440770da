"""``python -m backoffice consume <name>``: runs one declared consumer until SIGTERM."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.messaging.registry import UnknownConsumer, consumer_get, consumer_modules
from enlace_messaging.consumer import ConsumerRunner
from enlace_messaging.django.inbox import DjangoInbox
from enlace_messaging.publisher import Publisher
from enlace_messaging.shutdown import install_signal_handlers


class Command(BaseCommand):
    help = "Consumes Kafka messages for one consumer declared in backoffice/<service>/consumers.py."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the consumer's name (ConsumerSpec.name)")
        parser.add_argument(
            "--module",
            action="append",
            dest="modules",
            help="look for CONSUMERS in this module instead of the services' consumers modules",
        )
        parser.add_argument("--max-attempts", type=int, default=5)
        parser.add_argument("--session-timeout-ms", type=int, default=10_000)
        parser.add_argument("--max-poll-interval-ms", type=int, default=300_000)
        parser.add_argument(
            "--batch-size",
            type=int,
            default=200,
            help="records applied per database transaction (1: one transaction each)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        modules = options["modules"] or consumer_modules(settings.ENLACE_SERVICES)
        try:
            spec = consumer_get(options["name"], modules)
        except UnknownConsumer as exc:
            raise CommandError(str(exc)) from exc
        publisher = Publisher(settings.KAFKA_BOOTSTRAP_SERVERS, client_options=settings.KAFKA_CLIENT_OPTIONS)
        runner = ConsumerRunner(
            bootstrap=settings.KAFKA_BOOTSTRAP_SERVERS,
            client_options=settings.KAFKA_CLIENT_OPTIONS,
            group_id=spec.group_id,
            topics=spec.topics,
            handle=spec.dispatch,
            # Types with a set-based handler are applied a run at a time (an overdue run).
            handle_many=spec.dispatch_many if spec.handlers_many else None,
            inbox=DjangoInbox(using=spec.using, consumer_group=spec.group_id),
            publisher=publisher,
            max_attempts=options["max_attempts"],
            session_timeout_ms=options["session_timeout_ms"],
            max_poll_interval_ms=options["max_poll_interval_ms"],
            name=spec.name,
            batch_size=options["batch_size"],
        )
        install_signal_handlers(runner.stop)
        try:
            runner.run()
        finally:
            publisher.close()
