"""The portal's client of the Rasa server: its REST channel and the tracker events of its HTTP API.

Every call raises BotUnavailable when Rasa does not answer in time or answers with an error, so
the bridge can hand the conversation to a human.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from portal.chat.errors import BotUnavailable


@dataclass(frozen=True)
class BotReply:
    """What Rasa answered one message with: texts to show, and whether it asked for a human."""

    texts: list[str] = field(default_factory=list)
    handoff: bool = False


def reply_parse(body: Any) -> BotReply:
    """Rasa's REST channel answer (a list of ``{"text"}`` and ``{"custom"}`` items) as a BotReply."""
    if not isinstance(body, list):
        raise BotUnavailable(f"Rasa answered with {type(body).__name__}, not a list of messages")
    texts, handoff = [], False
    for item in body:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("text"), str) and item["text"].strip():
            texts.append(item["text"])
        custom = item.get("custom")
        if (
            isinstance(custom, dict)
            and isinstance(custom.get("enlace"), dict)
            and custom["enlace"].get("handoff")
        ):
            handoff = True
    return BotReply(texts=texts, handoff=handoff)


# One HTTP client per event loop (a client's connections belong to the loop that opened them):
# a new client per message built a TLS context (~20 ms of CPU on the loop every socket shares,
# measured with py-spy in tests/benchmarks/bench_chat.py) and a new connection to Rasa.
_http_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def _http() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _http_clients.get(loop)
    if client is None:
        client = _http_clients[loop] = httpx.AsyncClient()
    return client


class RasaClient:
    def __init__(self, base_url: str, *, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def _post(self, path: str, body: Any) -> Any:
        try:
            response = await _http().post(self.base_url + path, json=body, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise BotUnavailable(f"POST {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise BotUnavailable(f"POST {path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise BotUnavailable(f"POST {path}: HTTP 200 without JSON") from exc

    async def message_send(self, *, sender_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        """Sends the subscriber's message as ``sender_id`` and returns the bot's answer."""
        body = await self._post(
            "/webhooks/rest/webhook", {"sender": sender_id, "message": text, "metadata": metadata}
        )
        return reply_parse(body)

    async def events_append(self, *, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Appends events to the conversation's tracker (HTTP API, Rasa runs with --enable-api)."""
        await self._post(f"/conversations/{sender_id}/tracker/events", events)

    async def resume(self, *, sender_id: str) -> None:
        """Lets the bot listen again in a conversation it paused (the hand-back after a human)."""
        await self.events_append(
            sender_id=sender_id, events=[{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        )


def rasa_client() -> RasaClient:
    return RasaClient(settings.ENLACE_RASA_URL, timeout=settings.ENLACE_RASA_TIMEOUT_SECONDS)
