"""The portal's ASGI application plus /ws/echo/: a plain Channels consumer that sends each
message back through the channel layer (group_send to its own group), the reference the chat
benchmark compares the chat's latency with (same server, same Redis, same run)."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path, re_path

from portal.asgi import application as portal_application  # sets Django up first


class EchoConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = "echo-" + self.channel_name.replace("!", "-").replace(".", "-")[-60:]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(self.group, {"type": "echo.message", "text": text_data})

    async def echo_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


application: Any = ProtocolTypeRouter(
    {
        "http": portal_application,
        "websocket": URLRouter([path("ws/echo/", EchoConsumer.as_asgi()), re_path(r"", portal_application)]),
    }
)
