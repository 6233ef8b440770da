"""Sockets, personas and readers of the chat's fragments for the chat tests."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from portal.asgi import application
from portal.chat import services
from portal.chat.models import Conversation
from tests.portal.conftest import ALICE, session_for

PORTAL_ORIGIN = b"http://127.0.0.1:8000"

ANA_AGENT: dict[str, Any] = {
    "id": 201,
    "email": "ana@enlace.ec",
    "full_name": "Ana Agente",
    "roles": ["agent"],
    "client_id": None,
    "language": "es",
    "email_verified": True,
}
CARLOS_AGENT: dict[str, Any] = {
    **ANA_AGENT,
    "id": 202,
    "email": "carlos@enlace.ec",
    "full_name": "Carlos Agente",
}
ALICE_EN: dict[str, Any] = {
    **ALICE,
    "id": 103,
    "email": "alice.en@example.ec",
    "client_id": 3,
    "language": "en",
}


def conversation_for(user: dict[str, Any], *, language: str = "es") -> Conversation:
    return services.conversation_open(
        user_id=user["id"],
        client_id=user["client_id"],
        name=user["full_name"],
        email=user["email"],
        language=language,
        now=timezone.now(),
    )


async def socket(
    path: str, user: dict[str, Any] | None, *, origin: bytes = PORTAL_ORIGIN, language: str = "es"
) -> WebsocketCommunicator:
    cookies = [f"{settings.LANGUAGE_COOKIE_NAME}={language}"]
    if user is not None:
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={await sync_to_async(session_for)(user)}")
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000"), (b"cookie", "; ".join(cookies).encode())]
    return WebsocketCommunicator(application, path, headers=headers)


async def send(communicator: WebsocketCommunicator, **body: Any) -> None:
    await communicator.send_to(text_data=json.dumps(body))


_HEAD = re.compile(r'data-seq="(\d+)" data-sender="(\w+)"')
_TEXT = re.compile(r'<p class="chat-(?:text|system)">(.*?)</p>', re.S)


def messages_in(fragment: str) -> list[tuple[int, str, str]]:
    """(seq, sender kind, text) of each message in a fragment the socket sent."""
    found = []
    for chunk in fragment.split('<div class="chat-msg')[1:]:
        head, text = _HEAD.search(chunk), _TEXT.search(chunk)
        assert head is not None, chunk
        found.append(
            (int(head.group(1)), head.group(2), html.unescape(text.group(1).strip()) if text else "")
        )
    return found


async def receive_messages(
    communicator: WebsocketCommunicator, count: int, *, timeout: float = 5
) -> list[tuple[int, str, str]]:
    """Reads fragments until ``count`` messages came (other fragments are skipped)."""
    got: list[tuple[int, str, str]] = []
    while len(got) < count:
        got += messages_in(await communicator.receive_from(timeout=timeout))
    return got


async def receive_until(communicator: WebsocketCommunicator, needle: str, *, timeout: float = 5) -> str:
    """Reads fragments until one contains ``needle``; returns it."""
    while True:
        fragment = await communicator.receive_from(timeout=timeout)
        if needle in fragment:
            return fragment
