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
from collections.abc import Callable, Sequence
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

logger = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]
Handler = Callable[[Envelope], None]


def _key_bytes(key: str | bytes | None) -> bytes | None:
    if key is None or key in ("", b""):
        return None
    return key if isinstance(key, bytes) else key.encode("utf-8")


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
            timeout_ms = int(self.timeout * 1000)
            options: dict[str, Any] = {
                "bootstrap_servers": self.bootstrap,
                "client_id": f"enlace-publisher-{socket.gethostname()}",
                "acks": "all",
                "retries": 2**31 - 1,
                "enable_idempotence": False,
                "max_in_flight_requests_per_connection": 1,
                "linger_ms": 0,
                # The producer gives up on a record by itself within the publish timeout, so a
                # record we reported as not sent is not sent later behind the caller's back.
                "request_timeout_ms": min(timeout_ms, 30000),
                "delivery_timeout_ms": timeout_ms,
                "max_block_ms": timeout_ms,
                "retry_backoff_ms": 200,
                "reconnect_backoff_max_ms": 2000,
            }
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
        headers = [
            ("content-type", b"application/json"),
            ("message-type", envelope.type.encode("utf-8")),
            ("message-id", envelope.id.encode("utf-8")),
        ]
        self.publish_raw(topic, key, envelope.to_json(), headers)

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
                raise BrokerUnavailable(f"{topic}: not acknowledged: {exc}") from exc

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
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = list(topics)
        self.handle = handle
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
                    for record in records:
                        if self._stop.is_set():
                            break
                        if not self._process(record):
                            # Not finished (the DLQ is unreachable, or we are stopping): read this
                            # record again on a later poll instead of skipping it.
                            consumer.seek(tp, record.offset)
                            held_back = True
                            break
                        done[tp] = record.offset + 1
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

    def _process(self, record: ConsumerRecord) -> bool:
        """True when the record is finished with (applied, duplicate or dead-lettered)."""
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
        headers = [(k, v) for k, v in (record.headers or []) if not k.startswith("dlq-")]
        headers += [
            ("dlq-reason", reason.encode("utf-8")),
            ("dlq-original-topic", record.topic.encode("utf-8")),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-consumer-group", self.group_id.encode("utf-8")),
            ("dlq-failed-at", datetime.now(UTC).isoformat(timespec="milliseconds").encode()),
        ]
        try:
            self.publisher.publish_raw(dlq_topic(record.topic), record.key, record.value or b"", headers)
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
