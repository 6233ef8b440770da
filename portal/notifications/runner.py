"""The Kafka consumer that feeds live notifications (group ``portal-notifications``)."""

from __future__ import annotations

import asyncio
import logging
import threading

from django.conf import settings

from enlace_messaging.consumer import ConsumerRunner
from enlace_messaging.django.inbox import DjangoInbox
from enlace_messaging.envelope import Envelope
from enlace_messaging.publisher import Publisher
from portal.notifications.delivery import GroupSender, envelope_notify, loop_sender
from portal.notifications.registry import subscribed_topics

logger = logging.getLogger(__name__)

# A topic nobody has published to yet does not exist; refresh metadata often so the consumer
# picks it up seconds (not kafka-python's default five minutes) after its first message.
_METADATA_MAX_AGE_MS = 5000


def notification_runner(*, send: GroupSender) -> ConsumerRunner:
    """A consumer of every topic a notification handler names, pushing through ``send``."""

    def handle(envelope: Envelope) -> None:
        envelope_notify(envelope, send=send)

    return ConsumerRunner(
        bootstrap=settings.KAFKA_BOOTSTRAP_SERVERS,
        group_id=settings.ENLACE_PORTAL_CONSUMER_GROUP,
        topics=subscribed_topics(),
        handle=handle,
        inbox=DjangoInbox(using="default", consumer_group=settings.ENLACE_PORTAL_CONSUMER_GROUP),
        publisher=Publisher(settings.KAFKA_BOOTSTRAP_SERVERS, client_options=settings.KAFKA_CLIENT_OPTIONS),
        client_options={**settings.KAFKA_CLIENT_OPTIONS, "metadata_max_age_ms": _METADATA_MAX_AGE_MS},
        name="portal-notifications",
    )


class EmbeddedConsumer:
    """Runs the notification consumer in a daemon thread of the ASGI process (embedded mode,
    where the in-memory channel layer exists only in this process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runner: ConsumerRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Starts the consumer once; it pushes through ``loop``, the server's event loop."""
        with self._lock:
            if self._thread is not None:
                return
            self._runner = notification_runner(send=loop_sender(loop))
            self._thread = threading.Thread(target=self._runner.run, name="portal-notifications", daemon=True)
            self._thread.start()
            logger.info("embedded notification consumer started")

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            if self._runner is not None:
                self._runner.stop()
            if self._thread is not None:
                self._thread.join(timeout)
            self._runner = None
            self._thread = None
