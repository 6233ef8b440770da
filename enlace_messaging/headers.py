"""The Kafka record headers Enlace writes: an envelope's, and a dead-lettered record's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from enlace_messaging.envelope import Envelope

Headers = Sequence[tuple[str, bytes]]


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
