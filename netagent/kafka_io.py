"""The netagent's Kafka edge: reading commands in parallel per router, publishing results and DLQ.

``backoffice.messaging.kafka.ConsumerRunner`` handles one record at a time, which would let one
unreachable router hold up every other router. :class:`CommandConsumer` instead hands every
record to a dispatcher (which queues it on its router's lane) and commits, per partition, only
up to the lowest offset not yet finished (:class:`~netagent.offsets.OffsetTracker`).

Publishing reuses ``backoffice.messaging.kafka.Publisher`` (acks=all, ``BrokerUnavailable``).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from backoffice.messaging.catalog import dlq_topic
from backoffice.messaging.envelope import Envelope
from backoffice.messaging.errors import BrokerUnavailable
from backoffice.messaging.kafka import Publisher, dead_letter_headers, envelope_headers, producer_options
from backoffice.messaging.redaction import dead_letter_redact
from netagent.commands import Delivery
from netagent.config import KafkaConfig
from netagent.metrics import Metrics
from netagent.offsets import OffsetTracker

logger = logging.getLogger(__name__)

_LAG_EVERY = 5.0


class KafkaResults:
    """Publishes results on the results topic and refused commands on the commands' DLQ.

    Each thread (router lane) gets its own :class:`Publisher`: a publisher waits for the
    broker's acknowledgement under its lock, so one shared by every lane let only one result
    be in flight at a time for the whole agent, and four routers' lanes queued behind each
    other's acks. Per-lane publishers keep each lane's results in order (one key per router)
    and still return only once acknowledged.
    """

    def __init__(self, config: KafkaConfig, *, timeout: float = 10.0) -> None:
        self.config = config
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[Publisher] = []
        self._producers: list[KafkaProducer] = []
        self._all_lock = threading.Lock()

    @property
    def publisher(self) -> Publisher:
        """This thread's publisher (created on first use)."""
        publisher: Publisher | None = getattr(self._local, "publisher", None)
        if publisher is None:
            publisher = Publisher(
                self.config.bootstrap, client_options=self.config.client_options(), timeout=self.timeout
            )
            self._local.publisher = publisher
            with self._all_lock:
                self._all.append(publisher)
        return publisher

    def publish(self, envelope: Envelope, *, key: str) -> None:
        """Publishes a result keyed by router; raises BrokerUnavailable."""
        self.publisher.publish(self.config.results_topic, key, envelope)

    def publish_many(self, results: Sequence[tuple[Envelope, str]]) -> None:
        """Publishes results keyed by router, in order, and returns once all are acknowledged.

        Every record is handed to the producer first and only then are the acknowledgements
        awaited, so a lane's batch costs one round of broker round trips (the producer packs
        what accumulates while a request is in flight) instead of one blocking ack per result.
        With one request in flight per connection, the order per key is kept. Raises
        BrokerUnavailable if any is not acknowledged (the caller retries the whole batch:
        the results consumer's inbox absorbs the duplicates).
        """
        if not results:
            return
        producer = self._producer()
        topic = self.config.results_topic
        try:
            futures = [
                producer.send(
                    topic,
                    key=key.encode("utf-8"),
                    value=envelope.to_json(),
                    headers=envelope_headers(envelope),
                )
                for envelope, key in results
            ]
            deadline = time.monotonic() + self.timeout + 1
            for future in futures:
                future.get(timeout=max(0.1, deadline - time.monotonic()))
        except KafkaError as exc:
            raise BrokerUnavailable(f"{topic}: not acknowledged: {exc}") from exc

    def _producer(self) -> KafkaProducer:
        """This thread's producer for batches, configured as ``Publisher``'s (acks=all,
        one request in flight, no idempotence, bounded timeouts)."""
        producer: KafkaProducer | None = getattr(self._local, "producer", None)
        if producer is None:
            options = producer_options(
                self.config.bootstrap,
                client_id=f"netagent-results-{socket.gethostname()}",
                timeout=self.timeout,
            )
            options.update(self.config.client_options())
            try:
                producer = KafkaProducer(**options)
            except KafkaError as exc:
                raise BrokerUnavailable(
                    f"cannot reach the Kafka broker at {self.config.bootstrap}: {exc}"
                ) from exc
            self._local.producer = producer
            with self._all_lock:
                self._producers.append(producer)
        return producer

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """The record, untouched but for its secrets, on ``<topic>.dlq`` with ``dlq-*`` headers;
        raises BrokerUnavailable."""
        value, reason = dead_letter_redact(delivery.value, reason)
        headers = dead_letter_headers(
            delivery.headers,
            reason=reason,
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            group_id=self.config.group_id,
        )
        self.publisher.publish_raw(dlq_topic(delivery.topic), delivery.key, value, headers)

    def close(self) -> None:
        with self._all_lock:
            publishers, self._all = self._all, []
            producers, self._producers = self._producers, []
        for publisher in publishers:
            publisher.close()
        for producer in producers:
            producer.close(timeout=self.timeout)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: CommandConsumer) -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Commit what is finished while we still own the partitions; the rest is replayed by the
        # next owner, which revisions make harmless.
        self.owner._commit()
        self.owner.tracker.forget(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        logger.info("netagent: assigned %s", ", ".join(f"{tp.topic}/{tp.partition}" for tp in assigned))


class CommandConsumer:
    """Reads the commands topic as the netagent's group and hands each record to ``dispatch``.

    ``dispatch`` must not block: it queues the record (whose ``ack`` marks it finished).
    A partition is paused while ``max_in_flight`` of its records are unfinished.
    """

    def __init__(
        self,
        config: KafkaConfig,
        dispatch: Callable[[Delivery], None],
        *,
        metrics: Metrics,
        max_in_flight: int = 10_000,
        poll_timeout_ms: int = 100,
    ) -> None:
        self.config = config
        self.dispatch = dispatch
        self.metrics = metrics
        self.max_in_flight = max_in_flight
        self.poll_timeout_ms = poll_timeout_ms
        self.tracker = OffsetTracker()
        self._consumer: KafkaConsumer | None = None
        self._stop_polling = threading.Event()
        self._close = threading.Event()
        self._paused: set[TopicPartition] = set()
        self._thread = threading.Thread(target=self._run, name="netagent-kafka", daemon=True)
        self.assigned = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop_polling(self) -> None:
        """Stops reading new records; finished ones keep being committed until :meth:`close`."""
        self._stop_polling.set()

    def close(self, timeout: float = 15.0) -> None:
        """Commits what is finished, leaves the group and ends the thread."""
        self._stop_polling.set()
        self._close.set()
        self._thread.join(timeout)

    def _connect(self) -> KafkaConsumer | None:
        options: dict[str, Any] = {
            "bootstrap_servers": list(self.config.bootstrap_servers),
            "group_id": self.config.group_id,
            "client_id": f"netagent-{socket.gethostname()}",
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": self.config.session_timeout_ms,
            "heartbeat_interval_ms": self.config.heartbeat_interval_ms,
            "max_poll_interval_ms": self.config.max_poll_interval_ms,
            "reconnect_backoff_max_ms": 2000,
            **self.config.client_options(),
        }
        delay = 0.5
        while not self._stop_polling.is_set():
            try:
                consumer = KafkaConsumer(**options)
                consumer.subscribe([self.config.commands_topic], listener=_Rebalance(self))
                return consumer
            except KafkaError as exc:
                logger.warning(
                    "netagent: cannot reach Kafka at %s (%s); retrying in %.1fs",
                    self.config.bootstrap,
                    exc,
                    delay,
                )
                self._stop_polling.wait(delay)
                delay = min(delay * 2, 30.0)
        return None

    def _run(self) -> None:
        self._consumer = self._connect()
        if self._consumer is None:
            return
        consumer = self._consumer
        logger.info("netagent: consuming %s as group %s", self.config.commands_topic, self.config.group_id)
        last_lag = 0.0
        try:
            while not self._close.is_set():
                if self._stop_polling.is_set():
                    self._commit()
                    self._close.wait(0.1)
                    continue
                try:
                    batches = consumer.poll(timeout_ms=self.poll_timeout_ms)
                except KafkaError:
                    logger.exception("netagent: polling Kafka failed")
                    self._stop_polling.wait(1.0)
                    continue
                if consumer.assignment():
                    self.assigned.set()
                for tp, records in batches.items():
                    for record in records:
                        self.dispatch(
                            Delivery(
                                topic=record.topic,
                                partition=record.partition,
                                offset=record.offset,
                                key=record.key,
                                value=record.value or b"",
                                headers=list(record.headers or []),
                                ack=self.tracker.track(tp, record.offset),
                            )
                        )
                self._flow_control(consumer)
                self._commit()
                if time.monotonic() - last_lag > _LAG_EVERY:
                    last_lag = time.monotonic()
                    self._report_lag(consumer)
        finally:
            self._commit()
            try:
                consumer.close(autocommit=False)
            except KafkaError:
                logger.exception("netagent: closing the Kafka consumer failed")
            logger.info("netagent: consumer closed")

    def _commit(self) -> None:
        consumer = self._consumer
        offsets: dict[Hashable, int] = self.tracker.committable()
        if consumer is None or not offsets:
            return
        try:
            consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})  # type: ignore[misc]
        except KafkaError as exc:
            # Not fatal: the records stay uncommitted and are replayed at worst (harmless).
            logger.warning("netagent: committing offsets failed: %s", exc)
            return
        self.tracker.committed(offsets)

    def _flow_control(self, consumer: KafkaConsumer) -> None:
        for tp in consumer.assignment():
            pending = self.tracker.pending(tp)
            if tp not in self._paused and pending >= self.max_in_flight:
                logger.warning(
                    "netagent: pausing %s/%s with %d records in progress", tp.topic, tp.partition, pending
                )
                consumer.pause(tp)
                self._paused.add(tp)
            elif tp in self._paused and pending < self.max_in_flight // 2:
                consumer.resume(tp)
                self._paused.discard(tp)

    def _report_lag(self, consumer: KafkaConsumer) -> None:
        assigned = list(consumer.assignment())
        if not assigned:
            return
        try:
            ends = consumer.end_offsets(assigned)
        except KafkaError as exc:
            logger.debug("netagent: cannot read end offsets: %s", exc)
            return
        for tp in assigned:
            position = self.tracker.done_upto(tp)
            if position is None:
                try:
                    position = consumer.position(tp)
                except KafkaError:
                    continue
            self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                max(0, ends.get(tp, 0) - position)
            )
