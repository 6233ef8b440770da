"""The /ws/notifications/ socket over the real Redis channel layer.

Alice and Bob are signed-in subscribers; an anonymous browser and a foreign site get nothing.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings

from portal.asgi import application
from portal.notifications.consumers import CLOSE_UNAUTHENTICATED
from portal.notifications.registry import Push, user_group
from tests.portal.conftest import ALICE, BOB, session_for

PORTAL_ORIGIN = b"http://127.0.0.1:8000"


def _headers(*, session_key: str | None, origin: bytes = PORTAL_ORIGIN, language: str = "es") -> list[Any]:
    cookies = [f"{settings.LANGUAGE_COOKIE_NAME}={language}"]
    if session_key:
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session_key}")
    return [(b"origin", origin), (b"host", b"127.0.0.1:8000"), (b"cookie", "; ".join(cookies).encode())]


async def _socket(**kwargs: Any) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/notifications/", headers=_headers(**kwargs))


def _password_changed_push(user: dict[str, Any]) -> dict[str, Any]:
    push = Push(
        user_id=user["id"],
        template="portal/notifications/password_changed.html",
        context={"via": "change", "occurred_at": "2026-11-27T21:00:00.000Z", "id": "x"},
    )
    return push.channel_message()


async def test_an_anonymous_browser_is_refused() -> None:
    anonymous = await sync_to_async(session_for)(None)
    socket = await _socket(session_key=anonymous)
    connected, code = await socket.connect()
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED


async def test_a_browser_without_any_session_is_refused() -> None:
    socket = await _socket(session_key=None)
    connected, _ = await socket.connect()
    assert not connected


async def test_a_signed_in_browser_on_a_foreign_page_is_refused() -> None:
    alice = await sync_to_async(session_for)(ALICE)
    socket = await _socket(session_key=alice, origin=b"https://evil.example")
    connected, _ = await socket.connect()
    assert not connected


async def test_a_push_to_alice_reaches_her_socket_in_her_language_and_not_bobs() -> None:
    alice_socket = await _socket(session_key=await sync_to_async(session_for)(ALICE), language="es")
    bob_socket = await _socket(session_key=await sync_to_async(session_for)(BOB), language="es")
    assert (await alice_socket.connect())[0]
    assert (await bob_socket.connect())[0]
    try:
        await get_channel_layer().group_send(user_group(ALICE["id"]), _password_changed_push(ALICE))

        fragment = await alice_socket.receive_from(timeout=2)
        assert "Tu contraseña fue cambiada" in fragment
        assert 'id="notification-list"' in fragment
        assert 'hx-swap-oob="afterbegin"' in fragment
        assert await bob_socket.receive_nothing(timeout=0.5)
    finally:
        await alice_socket.disconnect()
        await bob_socket.disconnect()


async def test_a_push_renders_in_english_for_a_browser_that_chose_english() -> None:
    socket = await _socket(session_key=await sync_to_async(session_for)(ALICE), language="en")
    assert (await socket.connect())[0]
    try:
        await get_channel_layer().group_send(user_group(ALICE["id"]), _password_changed_push(ALICE))
        assert "Your password was changed" in await socket.receive_from(timeout=2)
    finally:
        await socket.disconnect()


async def test_a_closed_socket_leaves_the_users_group() -> None:
    socket = await _socket(session_key=await sync_to_async(session_for)(BOB))
    assert (await socket.connect())[0]
    await socket.disconnect()
    layer = get_channel_layer()
    # Another socket of Bob's joins after; only it gets the push.
    second = await _socket(session_key=await sync_to_async(session_for)(BOB))
    assert (await second.connect())[0]
    try:
        await layer.group_send(user_group(BOB["id"]), _password_changed_push(BOB))
        assert "contraseña" in await second.receive_from(timeout=2)
    finally:
        await second.disconnect()
