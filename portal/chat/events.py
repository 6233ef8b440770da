"""What the chat announces on the channel layer, always after the announcing transaction commits.

Group ``chat-<conversation id>``: every socket showing that conversation (the subscriber's and the
agents'). Group ``chat-queue``: every agent console's queue. Events carry plain data only.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

QUEUE_GROUP = "chat-queue"


def conversation_group(conversation_id: int) -> str:
    return f"chat-{int(conversation_id)}"


def _send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, event)


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    """Sends ``event`` to ``group`` once the current transaction commits (never if it rolls back)."""
    transaction.on_commit(lambda: _send(group, event))
