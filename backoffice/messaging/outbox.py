"""Writing messages to a service's outbox, in the transaction of the change that causes them."""

from __future__ import annotations

from django.db import connections

from backoffice.messaging.envelope import Envelope
from backoffice.messaging.models import OutboxMessage


class OutboxOutsideTransaction(RuntimeError):
    """outbox_put was called outside transaction.atomic(using=...): the message could be lost."""


def outbox_put(*, using: str, topic: str, key: str | None, envelope: Envelope) -> OutboxMessage:
    """Stores ``envelope`` for the relay to publish on ``topic`` with ``key``.

    Must run inside ``transaction.atomic(using=using)`` so the message commits (or rolls back)
    together with the change it announces.
    """
    if not connections[using].in_atomic_block:
        raise OutboxOutsideTransaction(
            f"outbox_put(using={using!r}) must run inside transaction.atomic(using={using!r})"
        )
    return OutboxMessage.objects.using(using).create(
        message_id=envelope.id,
        topic=topic,
        key=key or "",
        message_type=envelope.type,
        payload=envelope.to_json(),
    )
