"""The one module that talks to Kafka (kafka-python): publishing and consuming envelopes.

Free of Django, so the netagent uses it as it is; the back-office and the portal pair
``ConsumerRunner`` with ``backoffice.messaging.inbox.DjangoInbox``.

Delivery is at least once end to end: the relay may publish a message twice (it crashed after
the ack and before marking the row sent) and a consumer may read it twice (it crashed after the
effect and before committing the offset); the inbox makes the second delivery change nothing.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Protocol

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from backoffice.messaging.catalog import dlq_topic
from backoffice.messaging.envelope import Envelope
from backoffice.messaging.errors import BrokerUnavailable, InvalidMessage, PermanentFailure
from backoffice.messaging.redaction import dead_letter_redact

logger = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]
Handler = Callable[[Envelope], None]
# Applies several messages at once, in their order (one query per step instead of per message).
HandlerMany = Callable[[Sequence[Envelope]], None]


def _key_bytes(key: str | bytes | None) -> bytes | None:
    if key is None or key in ("", b""):
        return None
    return key if isinstance(key, bytes) else key.encode("utf-8")


def envelope_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    """The headers of a published envelope: consumers may route on them without parsing."""
    return [
        ("content-type", b"application/json"),
        ("message-type", envelope.type.encode("utf-8")),
        ("message-id", envelope.id.encode("utf-8")),
    ]


def dead_letter_headers(
    headers: Headers, *, reason: str, topic: str, partition: int, offset: int, group_id: str
) -> list[tuple[str, bytes]]:
    """A refused record's own headers (any earlier ``dlq-*`` dropped) plus why, where from
    and when it was refused."""
    return [
        *((k, v) for k, v in headers if not k.startswith("dlq-")),
        ("dlq-reason", reason.encode("utf-8")),
        ("dlq-original-topic", topic.encode("utf-8")),
        ("dlq-original-partition", str(partition).encode()),
        ("dlq-original-offset", str(offset).encode()),
        ("dlq-consumer-group", group_id.encode("utf-8")),
        ("dlq-failed-at", datetime.now(UTC).isoformat(timespec="milliseconds").encode()),
    ]


def producer_options(bootstrap: str, *, client_id: str, timeout: float) -> dict[str, Any]:
    """KafkaProducer options for acknowledged, ordered publishing within ``timeout`` seconds.

    acks=all; one request in flight per connection keeps the order per key without
    idempotence (off on purpose: Tansu forgets producer ids when it restarts and the client
    then fails every send until it is recreated; the consumers' inbox absorbs a duplicate).
    The producer gives up on a record by itself within ``timeout``, so a record reported as
    not sent is not sent later behind the caller's back.
    """
    timeout_ms = int(timeout * 1000)
    return {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "acks": "all",
        "retries": 2**31 - 1,
        "enable_idempotence": False,
        "max_in_flight_requests_per_connection": 1,
        "linger_ms": 0,
        "request_timeout_ms": min(timeout_ms, 30000),
        "delivery_timeout_ms": timeout_ms,
        "max_block_ms": timeout_ms,
        "retry_backoff_ms": 200,
        "reconnect_backoff_max_ms": 2000,
    }


class Publisher:
    """Publishes to Kafka and waits for the acknowledgement of every in-sync replica.

    The producer is created on first use, so a process may start before the broker does.
    Idempotence is off on purpose: Tansu forgets producer ids when it restarts and the client
    then fails every send until it is recreated; ``max_in_flight_requests_per_connection=1``
    keeps the order per key without it, and the consumers' inbox absorbs a duplicate.
    """

    def __init__(
        self, bootstrap: str, *, client_options: dict[str, Any] | None = None, timeout: float = 10.0
    ):
        self.bootstrap = bootstrap
        self.timeout = timeout
        self._options = dict(client_options or {})
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            options = producer_options(
                self.bootstrap, client_id=f"enlace-publisher-{socket.gethostname()}", timeout=self.timeout
            )
            options.update(self._options)
            try:
                self._producer = KafkaProducer(**options)
            except KafkaError as exc:
                raise BrokerUnavailable(f"cannot reach the Kafka broker at {self.bootstrap}: {exc}") from exc
        return self._producer

    def publish(self, topic: str, key: str | bytes | None, envelope: Envelope) -> None:
        """Publishes ``envelope`` on ``topic``; returns once acknowledged (acks=all).

        Raises BrokerUnavailable when the broker does not acknowledge within the timeout.
        """
        self.publish_raw(topic, key, envelope.to_json(), envelope_headers(envelope))

    def publish_raw(self, topic: str, key: str | bytes | None, value: bytes, headers: Headers = ()) -> None:
        """Publishes bytes as they are (the DLQ keeps a refused record untouched).

        Raises BrokerUnavailable when the broker does not acknowledge within the timeout.
        """
        with self._lock:
            producer = self._get_producer()
            try:
                future = producer.send(topic, key=_key_bytes(key), value=value, headers=list(headers))
                future.get(timeout=self.timeout + 1)
            except KafkaError as exc:
                # As in publish_many: a producer that failed once is replaced, so a restarted
                # broker is met with fresh metadata instead of a stuck partition.
                self._drop_producer()
                raise BrokerUnavailable(f"{topic}: not acknowledged: {exc}") from exc

    def publish_many(
        self, messages: Sequence[tuple[str, str | bytes | None, Envelope]]
    ) -> tuple[int, BrokerUnavailable | None]:
        """Publishes ``messages`` (topic, key, envelope) pipelined, then waits for every ack.

        Sending them all before waiting turns one round trip per message into about one per
        producer batch; ``max_in_flight_requests_per_connection=1`` keeps their order within a
        partition. Returns ``(acked, error)``: how many messages *from the start* were
        acknowledged, and the error of the first one that was not (None when all were). A
        message after the first failure may have reached the broker too; the caller publishes it
        again, and the consumers' inbox absorbs the duplicate.
        """
        if not messages:
            return 0, None
        with self._lock:
            try:
                producer = self._get_producer()
            except BrokerUnavailable as exc:
                return 0, exc
            futures = []
            send_error: BrokerUnavailable | None = None
            for topic, key, envelope in messages:
                try:
                    futures.append(
                        producer.send(
                            topic,
                            key=_key_bytes(key),
                            value=envelope.to_json(),
                            headers=envelope_headers(envelope),
                        )
                    )
                except KafkaError as exc:
                    # send() blocks up to max_block_ms for metadata: the broker is away, so
                    # sending the rest would only wait as long again for each.
                    send_error = BrokerUnavailable(f"{topic}: not sent: {exc}")
                    break
            # Wait for every future, even past a failure, so no send is still pending behind
            # the caller's back when it records what was sent.
            deadline = time.monotonic() + self.timeout + 1
            acked, error = 0, None
            for (topic, _, _), future in zip(messages, futures, strict=False):
                try:
                    future.get(timeout=max(deadline - time.monotonic(), 0.01))
                except KafkaError as exc:
                    if error is None:
                        error = BrokerUnavailable(f"{topic}: not acknowledged: {exc}")
                    continue
                if error is None:
                    acked += 1
            error = error or send_error
            if error is not None:
                # Start the next attempt with a fresh producer: after a broker restart the old
                # one's cached metadata (topic ids) was seen to get acks for records the broker
                # then did not keep (Tansu's memory engine); new metadata avoids that.
                self._drop_producer()
            return acked, error

    def _drop_producer(self) -> None:
        """Closes the producer without waiting (its futures are all resolved) so the next use
        creates a new one; called with ``_lock`` held."""
        if self._producer is not None:
            try:
                self._producer.close(timeout=0)
            except Exception:  # a producer that fails to close is dropped anyway
                logger.debug("closing a failed producer raised", exc_info=True)
            self._producer = None

    def close(self) -> None:
        """Flushes nothing further (every publish already waited) and closes the connections."""
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=self.timeout)
                self._producer = None


class Inbox(Protocol):
    """Records which messages a consumer group has applied, atomically with their effect."""

    def process(self, envelope: Envelope, handle: Handler) -> bool:
        """Applies ``handle(envelope)`` unless already applied; False when it was a duplicate.

        Whatever ``handle`` raises propagates, and then the message counts as not applied.
        """
        ...

    def process_many(self, envelopes: Sequence[Envelope], handle_many: HandlerMany) -> int:
        """Applies ``handle_many`` once to those of ``envelopes`` not applied before, in order.

        Returns how many were applied (the rest were duplicates). All or nothing: whatever
        ``handle_many`` raises propagates, and then none of them counts as applied.
        """
        ...

    def batch(self) -> AbstractContextManager[None]:
        """Groups the ``process`` calls made inside it into one unit of commit.

        Each ``process`` inside stays atomic on its own (a failure undoes only that message),
        but the effects commit together when the block exits without error; if the block
        raises, none of them is committed.
        """
        ...

    def close(self) -> None:
        """Releases the resources (database connections) of the calling thread."""
        ...


class MemoryInbox:
    """An inbox held in this process's memory, for consumers without a database.

    It forgets everything on restart, so only effects that are themselves idempotent (the
    netagent's desired state with revisions) may rely on it.
    """

    def __init__(self, max_ids: int = 100_000) -> None:
        self._ids: dict[str, None] = {}
        self._max_ids = max_ids
        self._lock = threading.Lock()

    def process(self, envelope: Envelope, handle: Handler) -> bool:
        with self._lock:
            if envelope.id in self._ids:
                return False
            handle(envelope)
            self._ids[envelope.id] = None
            if len(self._ids) > self._max_ids:
                # Forget the oldest id: a dict keeps insertion order.
                del self._ids[next(iter(self._ids))]
            return True

    def process_many(self, envelopes: Sequence[Envelope], handle_many: HandlerMany) -> int:
        with self._lock:
            fresh = list({e.id: e for e in envelopes if e.id not in self._ids}.values())
            if fresh:
                handle_many(fresh)
            for envelope in fresh:
                self._ids[envelope.id] = None
            while len(self._ids) > self._max_ids:
                del self._ids[next(iter(self._ids))]
            return len(fresh)

    def batch(self) -> AbstractContextManager[None]:
        """Nothing to group: each message is recorded in memory as it is applied."""
        return nullcontext()

    def close(self) -> None:
        return None


def install_signal_handlers(stop: Callable[[], None]) -> None:
    """Makes SIGTERM and SIGINT call ``stop`` (main thread only), for a clean shutdown."""

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


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
        handle_many: HandlerMany | None = None,
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
            "bootstrap_servers": bootstrap,
            "group_id": group_id,
            "client_id": f"{self.name}-{socket.gethostname()}",
            "enable_auto_commit": False,
            "auto_offset_reset": auto_offset_reset,
            "max_poll_interval_ms": max_poll_interval_ms,
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms or max(session_timeout_ms // 3, 100),
            "reconnect_backoff_max_ms": 2000,
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
