"""Publishing envelopes to Kafka (kafka-python), each acknowledged by every in-sync replica."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from enlace_messaging.envelope import Envelope
from enlace_messaging.errors import BrokerUnavailable
from enlace_messaging.headers import Headers, envelope_headers
from enlace_messaging.options import producer_options

logger = logging.getLogger(__name__)


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
