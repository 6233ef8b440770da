"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.

A crash between a service's commit and the publish loses nothing: the row stays unsent and the
next pass publishes it. A crash between the broker's ack and ``sent_at`` being stored publishes
the row again; consumers' inboxes absorb that duplicate.

On PostgreSQL each pass holds a session advisory lock per database, so two relays pointed at
the same database never publish the same rows side by side (and so never out of order); the
second one simply skips that database until the lock is free. SQLite (development) has one
writer anyway and runs one relay.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import DatabaseError, close_old_connections, connections
from django.db.models import F
from django.utils import timezone

from enlace_messaging.django.models import OutboxMessage
from enlace_messaging.envelope import Envelope
from enlace_messaging.errors import BrokerUnavailable, InvalidMessage
from enlace_messaging.publisher import Publisher

logger = logging.getLogger(__name__)

# One fixed advisory-lock key for "the outbox relay of this database" (any stable 64-bit value).
RELAY_LOCK_KEY = zlib.crc32(b"enlace.messaging.outbox-relay")


@contextmanager
def relay_lock(using: str) -> Iterator[bool]:
    """Yields True when this process may relay ``using``'s outbox now (always on non-PostgreSQL)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RELAY_LOCK_KEY])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RELAY_LOCK_KEY])


def relay_once(*, using: str, publisher: Publisher, batch_size: int = 200) -> int:
    """Publishes up to ``batch_size`` pending rows of ``using``'s outbox, oldest first.

    Returns how many were published (0 as well when another relay holds this database).
    A row whose payload is not a valid envelope is marked failed (``failed_at``, reason in
    ``last_error``) and never published. The valid rows are sent pipelined
    (``Publisher.publish_many``) and marked sent in one UPDATE: one round trip to the broker
    and one to the database per pass instead of one each per row. Raises BrokerUnavailable,
    after recording the attempt on the first row not acknowledged, when the broker does not
    acknowledge: only the rows acknowledged before it (in id order) are marked sent, so that
    row and every later one are published again on the next pass (order kept, nothing
    skipped; a later row the broker did take arrives twice, and the inbox absorbs it).
    """
    with relay_lock(using) as acquired:
        if not acquired:
            logger.debug("outbox of %s: another relay holds the lock", using)
            return 0
        outbox = OutboxMessage.objects.using(using)
        pending = outbox.filter(sent_at=None, failed_at=None).order_by("id")
        batch: list[tuple[OutboxMessage, Envelope]] = []
        for row in pending[:batch_size]:
            try:
                envelope = Envelope.from_json(bytes(row.payload))
                if envelope.id != str(row.message_id):
                    raise InvalidMessage(f"the payload's id {envelope.id} is not the row's {row.message_id}")
            except InvalidMessage as exc:
                logger.error(
                    "outbox of %s: row %s (%s) cannot be published: %s",
                    using,
                    row.pk,
                    row.message_id,
                    exc.reason,
                )
                outbox.filter(pk=row.pk).update(failed_at=timezone.now(), last_error=exc.reason[:2000])
                continue
            batch.append((row, envelope))
        acked, error = publisher.publish_many(
            [(row.topic, row.key or None, envelope) for row, envelope in batch]
        )
        if acked:
            outbox.filter(pk__in=[row.pk for row, _ in batch[:acked]]).update(
                sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
        if error is not None:
            failed_row = batch[acked][0]
            outbox.filter(pk=failed_row.pk).update(attempts=F("attempts") + 1, last_error=str(error)[:2000])
            raise error
        return acked


def run_relay(
    *,
    aliases: Sequence[str],
    publisher: Publisher,
    stop_event: threading.Event,
    idle_sleep: float = 0.2,
    batch_size: int = 200,
    backoff_max: float = 5.0,
    idle_min: float = 0.01,
) -> None:
    """Relays the outboxes of ``aliases`` until ``stop_event`` is set.

    When nothing was pending it sleeps, starting at ``idle_min`` and doubling up to
    ``idle_sleep`` while the outbox stays empty: right after activity (a burst, a flow whose
    next message follows within milliseconds) a new row waits ~10 ms instead of up to
    ``idle_sleep``, and a long idle period still costs only a few cheap queries per second
    (an index-only probe of the pending rows). Backs off exponentially (up to
    ``backoff_max``) while the broker or a database is unavailable. Closes this thread's
    database connections before returning.
    """
    failures = 0
    idle = idle_min
    logger.info("outbox relay started for %s", ", ".join(aliases))
    try:
        while not stop_event.is_set():
            close_old_connections()
            published = 0
            failed = False
            for alias in aliases:
                if stop_event.is_set():
                    break
                try:
                    published += relay_once(using=alias, publisher=publisher, batch_size=batch_size)
                except BrokerUnavailable as exc:
                    logger.warning("outbox of %s: broker unavailable, will retry: %s", alias, exc)
                    failed = True
                except DatabaseError:
                    logger.exception("outbox of %s: database error", alias)
                    connections[alias].close()
                    failed = True
            if failed:
                failures += 1
                stop_event.wait(min(idle_sleep * 2**failures, backoff_max))
            else:
                failures = 0
                if published:
                    idle = idle_min
                else:
                    stop_event.wait(idle)
                    idle = min(idle * 2, idle_sleep)
    finally:
        for alias in aliases:
            connections[alias].close()
        logger.info("outbox relay stopped")
