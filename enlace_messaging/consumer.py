"""Consuming envelopes from Kafka (kafka-python): the consumer runner.

Free of Django, so the netagent uses it as it is (with ``MemoryInbox``); the back-office and
the portal pair ``ConsumerRunner`` with ``enlace_messaging.django.inbox.DjangoInbox``.

Delivery is at least once end to end: the relay may publish a message twice (it crashed after
the ack and before marking the row sent) and a consumer may read it twice (it crashed after the
effect and before committing the offset); the inbox makes the second delivery change nothing.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from typing import Any

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from enlace_messaging.catalog import dlq_topic
from enlace_messaging.envelope import Envelope
from enlace_messaging.errors import BrokerUnavailable, InvalidMessage, PermanentFailure
from enlace_messaging.headers import dead_letter_headers
from enlace_messaging.inbox import BatchHandler, Handler, Inbox
from enlace_messaging.options import consumer_options
from enlace_messaging.publisher import Publisher
from enlace_messaging.redaction import dead_letter_redact

logger = logging.getLogger(__name__)


class ConsumerRunner:
    """Consumes ``topics`` as ``group_id`` and applies each message once through ``inbox``.

    For each record, in order: a record that is not a valid envelope goes to ``<topic>.dlq``;
    a valid one is handed to ``inbox.process(envelope, handle)``. A handler error is retried
    with exponential backoff up to ``max_attempts``, then the record goes to the DLQ with the
    error as the reason; ``PermanentFailure`` goes to the DLQ at once. Offsets are committed
    only after the effect (or the DLQ publish) is done, so a crash replays, never skips.

    With ``batch_size`` > 1, up to that many records of one partition are applied inside one
    ``inbox.batch()`` (one database transaction, one commit and fsync instead of one per
    record), each in its own savepoint with its inbox row. At the first record that is not
    applied cleanly (invalid, or its handler raised), the batch commits what came before it,
    that record goes alone through the retry/DLQ path above (its first failure counting as
    attempt 1), and batching resumes after it, so the order within a partition is kept.

    With ``handle_many`` as well, a batch is first offered whole to
    ``inbox.process_many(envelopes, handle_many)``: one inbox statement and one call that
    may apply the messages with a few set-based queries instead of several queries each (an
    overdue run, a burst of results). If that raises, nothing of it is kept and the same
    records go through the record-by-record batch above, which isolates the one at fault.
    """

    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        handle: Handler,
        inbox: Inbox,
        publisher: Publisher,
        client_options: dict[str, Any] | None = None,
        max_attempts: int = 5,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        poll_timeout_ms: int = 500,
        max_poll_interval_ms: int = 300_000,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int | None = None,
        auto_offset_reset: str = "earliest",
        name: str | None = None,
        batch_size: int = 200,
        handle_many: BatchHandler | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = list(topics)
        self.handle = handle
        self.handle_many = handle_many
        self.inbox = inbox
        self.publisher = publisher
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.poll_timeout_ms = poll_timeout_ms
        self.name = name or group_id
        self._options: dict[str, Any] = {
            **consumer_options(
                bootstrap,
                group_id=group_id,
                client_id=f"{self.name}-{socket.gethostname()}",
                auto_offset_reset=auto_offset_reset,
                max_poll_interval_ms=max_poll_interval_ms,
                session_timeout_ms=session_timeout_ms,
                heartbeat_interval_ms=heartbeat_interval_ms,
            ),
            **(client_options or {}),
        }
        self._stop = threading.Event()

    def stop(self) -> None:
        """Asks ``run`` to return after the record in hand; safe from any thread or a signal."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_initial * 2 ** (attempt - 1), self.backoff_max)

    def _connect(self) -> KafkaConsumer | None:
        attempt = 0
        while not self._stop.is_set():
            attempt += 1
            try:
                consumer = KafkaConsumer(**self._options)
                consumer.subscribe(self.topics)
                return consumer
            except KafkaError as exc:
                delay = self._backoff(attempt)
                logger.warning(
                    "%s: cannot reach Kafka at %s (%s); retrying in %.1fs",
                    self.name,
                    self.bootstrap,
                    exc,
                    delay,
                )
                self._stop.wait(delay)
        return None

    def run(self) -> None:
        """Consumes until ``stop()`` is called; commits what was processed, then leaves the group."""
        consumer = self._connect()
        if consumer is None:
            self.inbox.close()
            return
        logger.info("%s: consuming %s as group %s", self.name, ", ".join(self.topics), self.group_id)
        done: dict[TopicPartition, int] = {}
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=self.poll_timeout_ms)
                except KafkaError:
                    logger.exception("%s: polling Kafka failed", self.name)
                    self._stop.wait(self.backoff_max)
                    continue
                held_back = False
                for tp, records in batches.items():
                    index = 0
                    while index < len(records) and not self._stop.is_set():
                        failed: Exception | None = None
                        if self.batch_size > 1:
                            chunk = records[index : index + self.batch_size]
                            applied, failed = self._apply_batch(chunk)
                            if applied:
                                index += applied
                                done[tp] = records[index - 1].offset + 1
                            if applied == len(chunk):
                                continue
                        # One record alone: batching is off, or it is the record a batch
                        # stopped at (``failed`` is its handler's error, None when invalid).
                        record = records[index]
                        if not self._process(record, failed=failed):
                            # Not finished (the DLQ is unreachable, or we are stopping): read this
                            # record again on a later poll instead of skipping it.
                            consumer.seek(tp, record.offset)
                            held_back = True
                            break
                        done[tp] = record.offset + 1
                        index += 1
                self._commit(consumer, done)
                if held_back and not self._stop.is_set():
                    failures += 1
                    self._stop.wait(self._backoff(failures))
                elif batches:
                    failures = 0
        finally:
            self._commit(consumer, done)
            try:
                consumer.close()
            except KafkaError:
                logger.exception("%s: closing the Kafka consumer failed", self.name)
            self.inbox.close()
            logger.info("%s: stopped", self.name)

    def _commit(self, consumer: KafkaConsumer, done: dict[TopicPartition, int]) -> None:
        if not done:
            return
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in done.items()}
        try:
            consumer.commit(offsets)
            done.clear()
        except KafkaError as exc:
            # After a rebalance another member reads these records again; the inbox makes that
            # harmless, so a failed commit is worth a warning, not a stop.
            logger.warning("%s: committing offsets failed: %s", self.name, exc)
            done.clear()

    def _apply_batch(self, records: Sequence[ConsumerRecord]) -> tuple[int, Exception | None]:
        """Applies ``records`` in one ``inbox.batch()`` up to the first one not applied cleanly.

        Returns ``(applied, error)``: the first ``applied`` records are committed (or were
        duplicates). When ``applied`` is short of ``len(records)``, ``records[applied]`` was not
        applied and nothing of it was committed: ``error`` is what its handler raised, or None
        when it is not a valid envelope (the single-record path dead-letters it). When the
        batch's commit fails, nothing is committed and ``(0, error)`` hands the first record,
        with that error, to the retry path; the others follow in later batches.
        """
        if self.handle_many is not None:
            applied_together = self._apply_together(records)
            if applied_together is not None:
                return applied_together, None
        applied = 0
        error: Exception | None = None
        try:
            with self.inbox.batch():
                for record in records:
                    try:
                        if record.value is None:
                            break
                        envelope = Envelope.from_json(record.value)
                    except InvalidMessage:
                        break
                    try:
                        if not self.inbox.process(envelope, self.handle):
                            logger.info("%s: %s %s already processed", self.name, envelope.type, envelope.id)
                    except Exception as exc:
                        # Its savepoint rolled back; the records before it still commit below.
                        error = exc
                        break
                    applied += 1
        except Exception as exc:
            logger.warning("%s: committing a batch of %d records failed: %s", self.name, applied, exc)
            return 0, exc
        return applied, error

    def _apply_together(self, records: Sequence[ConsumerRecord]) -> int | None:
        """Applies the valid envelopes at the head of ``records`` with one ``handle_many`` call.

        Returns how many records that covered (the record after them, if any, is not a valid
        envelope), or None when the call or its commit failed and nothing was kept.
        """
        envelopes: list[Envelope] = []
        for record in records:
            try:
                if record.value is None:
                    break
                envelopes.append(Envelope.from_json(record.value))
            except InvalidMessage:
                break
        if not envelopes:
            return 0
        assert self.handle_many is not None
        try:
            with self.inbox.batch():
                applied = self.inbox.process_many(envelopes, self.handle_many)
        except Exception as exc:
            logger.info(
                "%s: %d records together failed (%s: %s); applying them one by one",
                self.name,
                len(envelopes),
                type(exc).__name__,
                exc,
            )
            return None
        if applied < len(envelopes):
            logger.info("%s: %d messages already processed", self.name, len(envelopes) - applied)
        return len(envelopes)

    def _process(self, record: ConsumerRecord, *, failed: Exception | None = None) -> bool:
        """True when the record is finished with (applied, duplicate or dead-lettered).

        ``failed``: the error of an attempt already made (in a batch), counted as attempt 1.
        """
        try:
            if record.value is None:
                raise InvalidMessage("the record has no value")
            envelope = Envelope.from_json(record.value)
        except InvalidMessage as exc:
            logger.warning(
                "%s: invalid message at %s/%s@%s: %s",
                self.name,
                record.topic,
                record.partition,
                record.offset,
                exc.reason,
            )
            return self._dead_letter(record, exc.reason)

        for attempt in range(1, self.max_attempts + 1):
            try:
                if attempt == 1 and failed is not None:
                    raise failed
                applied = self.inbox.process(envelope, self.handle)
                if not applied:
                    logger.info("%s: %s %s already processed", self.name, envelope.type, envelope.id)
                return True
            except PermanentFailure as exc:
                logger.warning("%s: %s %s refused: %s", self.name, envelope.type, envelope.id, exc.reason)
                return self._dead_letter(record, exc.reason)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if attempt == self.max_attempts:
                    logger.exception(
                        "%s: %s %s failed %d times, dead-lettering",
                        self.name,
                        envelope.type,
                        envelope.id,
                        attempt,
                    )
                    return self._dead_letter(record, reason)
                delay = self._backoff(attempt)
                logger.warning(
                    "%s: %s %s failed (attempt %d of %d), retrying in %.2fs: %s",
                    self.name,
                    envelope.type,
                    envelope.id,
                    attempt,
                    self.max_attempts,
                    delay,
                    reason,
                )
                if self._stop.wait(delay):
                    return False
        return False  # pragma: no cover - the loop always returns

    def _dead_letter(self, record: ConsumerRecord, reason: str) -> bool:
        value, reason = dead_letter_redact(record.value or b"", reason)
        headers = dead_letter_headers(
            record.headers or [],
            reason=reason,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group_id=self.group_id,
        )
        try:
            self.publisher.publish_raw(dlq_topic(record.topic), record.key, value, headers)
        except BrokerUnavailable as exc:
            logger.error(
                "%s: cannot dead-letter %s/%s@%s, will retry: %s",
                self.name,
                record.topic,
                record.partition,
                record.offset,
                exc,
            )
            return False
        return True
