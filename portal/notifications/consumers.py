"""The WebSocket every signed-in page opens at /ws/notifications/."""

from __future__ import annotations

import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string
from django.utils import translation

from portal.notifications.registry import client_group, user_group

logger = logging.getLogger(__name__)

# Close code of a refused connection (no signed-in session), in the application range.
CLOSE_UNAUTHENTICATED = 4401


class NotificationConsumer(AsyncWebsocketConsumer):
    """Joins the signed-in user's group (and their client's, for a subscriber) and sends each
    push as an htmx out-of-band fragment."""

    # Not channels' ``groups`` (joined before connect, for every socket): these depend on the user.
    joined: tuple[str, ...] = ()

    async def connect(self) -> None:
        user_id = self.scope.get("portal_user_id")
        if user_id is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        groups = [user_group(user_id)]
        client_id = self.scope.get("portal_client_id")
        if client_id is not None:
            groups.append(client_group(client_id))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = tuple(groups)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # One-way: the page sends nothing that the portal acts on here.
        return

    async def notification_fragment(self, event: dict[str, Any]) -> None:
        """A push from the channel layer: rendered in this socket's language and sent."""
        with translation.override(self.scope.get("portal_language")):
            html = render_to_string(event["template"], event.get("context") or {})
        await self.send(text_data=html)
