"""The /ws/notifications/ socket over the real Redis channel layer, with sessions of the real identity.

Alice and Bob are signed-in subscribers (of clients 1 and 2); an anonymous browser, a foreign
site and a session identity no longer accepts get nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.urls import reverse

from enlace_messaging.envelope import Envelope
from portal.asgi import application
from portal.identity_client import IdentityClient
from portal.notifications.consumers import CLOSE_SESSION_REVOKED, CLOSE_UNAUTHENTICATED
from portal.notifications.delivery import envelope_notify, layer_sender
from portal.notifications.registry import Push, user_group
from tests.fixtures.sockets import connect_refused
from tests.portal.conftest import PERSONA_PASSWORD, SignedIn, session_for
from tests.portal.identity_server import IdentityServer

PORTAL_ORIGIN = b"http://127.0.0.1:8000"

SignIn = Callable[..., SignedIn]


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


@pytest.fixture(name="alice")
def alice_fixture(persona_create: Callable[..., str]) -> str:
    return persona_create(email="alice@example.ec", name="alice", client_id=1)


@pytest.fixture(name="bob")
def bob_fixture(persona_create: Callable[..., str]) -> str:
    return persona_create(email="bob@example.ec", name="bob", client_id=2)


async def _signed_in(sign_in: SignIn, email: str, password: str = PERSONA_PASSWORD) -> SignedIn:
    return await sync_to_async(sign_in)(email, password)


async def test_an_anonymous_browser_is_refused() -> None:
    anonymous = await sync_to_async(session_for)(None)
    socket = await _socket(session_key=anonymous)
    assert await connect_refused(socket) == CLOSE_UNAUTHENTICATED


async def test_a_browser_without_any_session_is_refused() -> None:
    socket = await _socket(session_key=None)
    await connect_refused(socket)


async def test_a_signed_in_browser_on_a_foreign_page_is_refused(sign_in: SignIn, alice: str) -> None:
    session = await _signed_in(sign_in, alice)
    socket = await _socket(session_key=session.session_key, origin=b"https://evil.example")
    await connect_refused(socket)


async def test_a_push_to_alice_reaches_her_socket_in_her_language_and_not_bobs(
    sign_in: SignIn, alice: str, bob: str
) -> None:
    alice_session = await _signed_in(sign_in, alice)
    bob_session = await _signed_in(sign_in, bob)
    alice_socket = await _socket(session_key=alice_session.session_key, language="es")
    bob_socket = await _socket(session_key=bob_session.session_key, language="es")
    assert (await alice_socket.connect())[0]
    assert (await bob_socket.connect())[0]
    try:
        await get_channel_layer().group_send(
            user_group(alice_session.user["id"]), _password_changed_push(alice_session.user)
        )

        fragment = await alice_socket.receive_from(timeout=2)
        assert "Tu contraseña fue cambiada" in fragment
        assert 'id="notification-list"' in fragment
        assert 'hx-swap-oob="afterbegin"' in fragment
        assert await bob_socket.receive_nothing(timeout=0.5)
    finally:
        await alice_socket.disconnect()
        await bob_socket.disconnect()


async def test_a_push_renders_in_english_for_a_browser_that_chose_english(
    sign_in: SignIn, alice: str
) -> None:
    session = await _signed_in(sign_in, alice)
    socket = await _socket(session_key=session.session_key, language="en")
    assert (await socket.connect())[0]
    try:
        await get_channel_layer().group_send(
            user_group(session.user["id"]), _password_changed_push(session.user)
        )
        assert "Your password was changed" in await socket.receive_from(timeout=2)
    finally:
        await socket.disconnect()


async def test_a_closed_socket_leaves_the_users_group(sign_in: SignIn, bob: str) -> None:
    session = await _signed_in(sign_in, bob)
    socket = await _socket(session_key=session.session_key)
    assert (await socket.connect())[0]
    await socket.disconnect()
    layer = get_channel_layer()
    # Another socket of Bob's joins after; only it gets the push.
    second = await _socket(session_key=session.session_key)
    assert (await second.connect())[0]
    try:
        await layer.group_send(user_group(session.user["id"]), _password_changed_push(session.user))
        assert "contraseña" in await second.receive_from(timeout=2)
    finally:
        await second.disconnect()


# --- sessions identity no longer accepts ---------------------------------------------------------


async def test_a_session_whose_identity_session_was_revoked_is_refused(
    sign_in: SignIn, alice: str, identity: IdentityServer
) -> None:
    session = await _signed_in(sign_in, alice)
    tokens = await sync_to_async(session.tokens)()
    # Signed out at identity (as a sign-out everywhere does); the portal session still exists.
    await sync_to_async(IdentityClient(identity.url).logout)(
        refresh_token=tokens["refresh"], access_token=tokens["access"]
    )

    socket = await _socket(session_key=session.session_key)
    assert await connect_refused(socket) == CLOSE_SESSION_REVOKED


def _notify_now(envelope: Envelope) -> None:
    # As the notification consumer does (outside a transaction the pushes go at once).
    try:
        envelope_notify(envelope, send=layer_sender())
    finally:
        # The connection on_commit opened lives in asgiref's worker thread, which outlives this test.
        connections.close_all()


@pytest.mark.django_db(transaction=True)
async def test_a_password_change_closes_the_other_sessions_sockets_and_keeps_this_ones(
    sign_in: SignIn, persona_create: Callable[..., str], identity: IdentityServer
) -> None:
    email = await sync_to_async(persona_create)(name="dora")
    laptop = await _signed_in(sign_in, email)
    phone = await _signed_in(sign_in, email)
    laptop_socket = await _socket(session_key=laptop.session_key)
    phone_socket = await _socket(session_key=phone.session_key)
    assert (await laptop_socket.connect())[0]
    assert (await phone_socket.connect())[0]
    try:
        # Dora changes her password on her phone: identity ends her laptop's session...
        phone_tokens = await sync_to_async(phone.tokens)()
        await sync_to_async(IdentityClient(identity.url).password_change)(
            access_token=phone_tokens["access"],
            current_password=PERSONA_PASSWORD,
            new_password="otra clave de prueba 2027",
        )
        # ...and announces it; the portal's consumer hands the event on as it would from Kafka.
        event = Envelope.new(
            type="identity.password.changed",
            data={"user_id": laptop.user["id"], "email": email, "via": "change"},
            source="identity",
        )
        await sync_to_async(_notify_now)(event)

        assert "contraseña" in await laptop_socket.receive_from(timeout=5)
        closed = await laptop_socket.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": CLOSE_SESSION_REVOKED}
        assert "contraseña" in await phone_socket.receive_from(timeout=5)
        assert await phone_socket.receive_nothing(timeout=1)
    finally:
        await laptop_socket.disconnect()
        await phone_socket.disconnect()


async def test_signing_out_closes_the_sockets_of_that_session(sign_in: SignIn, bob: str) -> None:
    session = await _signed_in(sign_in, bob)
    socket = await _socket(session_key=session.session_key)
    assert (await socket.connect())[0]
    try:
        response = await sync_to_async(session.client.post)(reverse("portal:sign-out"))
        assert response.status_code == 302

        closed = await socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": CLOSE_SESSION_REVOKED}
    finally:
        await socket.disconnect()


async def test_an_open_socket_closes_at_its_next_check_after_a_revocation_no_event_announced(
    sign_in: SignIn, alice: str, identity: IdentityServer, settings: Any
) -> None:
    settings.ENLACE_PORTAL_SOCKET_SESSION_CHECK_SECONDS = 1
    session = await _signed_in(sign_in, alice)
    socket = await _socket(session_key=session.session_key)
    assert (await socket.connect())[0]
    try:
        tokens = await sync_to_async(session.tokens)()
        await sync_to_async(IdentityClient(identity.url).logout)(
            refresh_token=tokens["refresh"], access_token=tokens["access"]
        )

        closed = await socket.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": CLOSE_SESSION_REVOKED}
    finally:
        await socket.disconnect()
