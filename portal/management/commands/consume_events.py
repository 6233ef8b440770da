"""``python -m portal consume_events``: Kafka events → live notifications on users' pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from enlace_messaging.shutdown import install_signal_handlers
from portal.notifications.delivery import layer_sender
from portal.notifications.runner import notification_runner


class Command(BaseCommand):
    help = "Consume the events that become live notifications and push them to open pages."

    def handle(self, *args: Any, **options: Any) -> None:
        if "InMemoryChannelLayer" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            # Pushes into this process's memory would reach no browser.
            raise CommandError(
                "the channel layer is in-memory: set ENLACE_REDIS_URL, or let the portal's ASGI "
                "process consume (ENLACE_PORTAL_EMBEDDED_CONSUMER=true)"
            )
        runner = notification_runner(send=layer_sender())
        install_signal_handlers(runner.stop)
        self.stdout.write(f"consuming {', '.join(runner.topics)} as {runner.group_id}")
        runner.run()
