"""kafka-python client options for Enlace's producers and consumers (plain dicts, no client)."""

from __future__ import annotations

from typing import Any


def producer_options(bootstrap: str, *, client_id: str, timeout: float) -> dict[str, Any]:
    """KafkaProducer options for acknowledged, ordered publishing within ``timeout`` seconds.

    acks=all; one request in flight per connection keeps the order per key without
    idempotence (off on purpose: Tansu forgets producer ids when it restarts and the client
    then fails every send until it is recreated; the consumers' inbox absorbs a duplicate).
    The producer gives up on a record by itself within ``timeout``, so a record reported as
    not sent is not sent later behind the caller's back; creating it against a broker that does
    not answer fails within ``timeout`` too.
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
        # Without it kafka-python waits 30 s for a broker that does not answer when the
        # producer is created, past ``timeout``.
        "bootstrap_timeout_ms": timeout_ms,
        "retry_backoff_ms": 200,
        "reconnect_backoff_max_ms": 2000,
    }


def consumer_options(
    bootstrap: str,
    *,
    group_id: str,
    client_id: str,
    auto_offset_reset: str = "earliest",
    max_poll_interval_ms: int = 300_000,
    session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int | None = None,
) -> dict[str, Any]:
    """KafkaConsumer options for a group member that commits offsets itself, after the effect."""
    return {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": auto_offset_reset,
        "max_poll_interval_ms": max_poll_interval_ms,
        "session_timeout_ms": session_timeout_ms,
        "heartbeat_interval_ms": heartbeat_interval_ms or max(session_timeout_ms // 3, 100),
        "reconnect_backoff_max_ms": 2000,
    }
