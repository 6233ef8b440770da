"""Writing messages to a service's outbox, in the transaction of the change that causes them."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections

from enlace_messaging.django.models import OutboxMessage
from enlace_messaging.envelope import Envelope


class OutboxOutsideTransaction(RuntimeError):
    """outbox_put was called outside transaction.atomic(using=...): the message could be lost."""


def outbox_put(*, using: str, topic: str, key: str | None, envelope: Envelope) -> OutboxMessage:
    """Stores ``envelope`` for the relay to publish on ``topic`` with ``key``.

    Must run inside ``transaction.atomic(using=using)`` so the message commits (or rolls back)
    together with the change it announces.
    """
    _ensure_in_transaction(using)
    return OutboxMessage.objects.using(using).create(**_row(topic, key, envelope))


def outbox_put_many(*, using: str, messages: Sequence[tuple[str, str | None, Envelope]]) -> None:
    """Stores ``messages`` (topic, key, envelope) with one INSERT; the relay publishes them in
    this order. Same rule as :func:`outbox_put`: inside the transaction of their change.
    """
    _ensure_in_transaction(using)
    OutboxMessage.objects.using(using).bulk_create(
        [OutboxMessage(**_row(topic, key, envelope)) for topic, key, envelope in messages], batch_size=500
    )


def _ensure_in_transaction(using: str) -> None:
    if not connections[using].in_atomic_block:
        raise OutboxOutsideTransaction(
            f"outbox_put(using={using!r}) must run inside transaction.atomic(using={using!r})"
        )


def _row(topic: str, key: str | None, envelope: Envelope) -> dict[str, object]:
    return {
        "message_id": envelope.id,
        "topic": topic,
        "key": key or "",
        "message_type": envelope.type,
        "payload": envelope.to_json(),
    }
