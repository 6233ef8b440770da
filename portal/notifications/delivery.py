"""Handing pushes to the channel layer, after the consumer's transaction commits."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import transaction

from enlace_messaging.envelope import Envelope
from portal.notifications.registry import envelope_pushes

# Sends ``message`` to every channel of ``group``.
GroupSender = Callable[[str, dict[str, Any]], None]

_LOOP_SEND_TIMEOUT_SECONDS = 5.0


def _layer() -> BaseChannelLayer:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("the portal has no channel layer configured (CHANNEL_LAYERS)")
    return layer


def layer_sender(layer: BaseChannelLayer | None = None) -> GroupSender:
    """A sender for a thread without an event loop (``consume_events``, over Redis)."""
    target = layer or _layer()

    def send(group: str, message: dict[str, Any]) -> None:
        async_to_sync(target.group_send)(group, message)

    return send


def loop_sender(loop: asyncio.AbstractEventLoop, layer: BaseChannelLayer | None = None) -> GroupSender:
    """A sender that runs ``group_send`` on ``loop``: the in-memory layer's queues belong to the
    ASGI server's loop and are not thread-safe, so the embedded consumer thread must go there."""
    target = layer or _layer()

    def send(group: str, message: dict[str, Any]) -> None:
        future = asyncio.run_coroutine_threadsafe(target.group_send(group, message), loop)
        future.result(timeout=_LOOP_SEND_TIMEOUT_SECONDS)

    return send


def envelope_notify(envelope: Envelope, *, send: GroupSender) -> int:
    """Pushes what the handlers make of ``envelope`` once the current transaction commits
    (at once outside one), and returns how many pushes it scheduled."""
    pushes = envelope_pushes(envelope)
    for push in pushes:
        transaction.on_commit(functools.partial(send, push.group(), push.channel_message()))
    return len(pushes)
