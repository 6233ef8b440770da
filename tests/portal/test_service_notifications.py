"""``network.service.changed`` becomes a live service card (and a notice) for the service's client.

Alice (client 1) and her housemate Hugo (also client 1) share subscription 1001; Bob is client 2;
over sockets they are signed in through the real identity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.template.loader import render_to_string
from django.utils import translation

from backoffice.messaging.envelope import Envelope
from portal.asgi import application
from portal.notifications.delivery import envelope_notify, layer_sender
from portal.notifications.registry import Push, envelope_pushes
from tests.portal.conftest import ALICE, BOB, SignedIn
from tests.portal.identity_server import DEMO_PASSWORD

PORTAL_ORIGIN = b"http://127.0.0.1:8000"


def _service_changed(**changes: Any) -> Envelope:
    data: dict[str, Any] = {
        "subscription_id": 1001,
        "client_id": ALICE["client_id"],
        "status": "suspended",
        "reason": "overdue",
        "online": None,
        "applied": False,
        "revision": 2,
    }
    data.update(changes)
    return Envelope.new(type="network.service.changed", data=data, source="network")


def _rendered(envelope: Envelope, language: str) -> str:
    """The fragment a socket in ``language`` receives for ``envelope`` (as the consumer renders it)."""
    [push] = envelope_pushes(envelope)
    with translation.override(language):
        return render_to_string(push.template, push.context)


# --- the handler -------------------------------------------------------------------------------


def test_a_service_change_is_pushed_to_every_page_of_the_services_client() -> None:
    [push] = envelope_pushes(_service_changed())

    assert push.client_id == ALICE["client_id"]
    assert push.user_id is None
    assert push.group() == f"client-{ALICE['client_id']}"


def test_a_suspension_for_overdue_payment_replaces_the_card_and_says_why_in_spanish() -> None:
    fragment = _rendered(_service_changed(), "es")

    assert '<section id="service-1001"' in fragment
    assert 'hx-swap-oob="outerHTML"' in fragment
    assert "Suspendido" in fragment
    assert "por falta de pago" in fragment
    assert "Paga tu factura pendiente" in fragment
    assert 'id="notification-list" hx-swap-oob="afterbegin"' in fragment
    assert "Tu servicio fue suspendido: falta de pago" in fragment


def test_a_suspension_for_overdue_payment_says_why_in_english() -> None:
    fragment = _rendered(_service_changed(), "en")

    assert "Suspended" in fragment
    assert "for overdue payment" in fragment
    assert "Your service was suspended: overdue payment" in fragment


def test_a_reactivation_says_so_and_the_card_asks_for_its_plan_again() -> None:
    fragment = _rendered(_service_changed(status="active", reason=None), "es")

    assert "Tu servicio fue reactivado" in fragment
    assert ">Activo<" in fragment
    assert 'hx-get="/dashboard/services/1001/"' in fragment
    assert 'hx-trigger="load"' in fragment


def test_the_routers_confirmation_updates_the_card_without_a_second_notice() -> None:
    fragment = _rendered(_service_changed(status="active", reason=None, applied=True, online=True), "es")

    assert "En línea" in fragment
    assert "notification-list" not in fragment


def test_a_failure_on_the_router_updates_the_card_without_a_notice() -> None:
    fragment = _rendered(_service_changed(error="RouterOS: no such item"), "es")

    assert "notification-list" not in fragment
    assert "RouterOS" not in fragment


def test_a_service_without_a_client_pushes_nothing() -> None:
    assert envelope_pushes(_service_changed(client_id=None)) == []


def test_a_push_targets_exactly_one_user_or_one_client() -> None:
    with pytest.raises(ValueError, match="either"):
        Push(template="t.html")
    with pytest.raises(ValueError, match="either"):
        Push(template="t.html", user_id=1, client_id=1)


# --- over the real Redis channel layer ---------------------------------------------------------


def _headers(session_key: str, language: str) -> list[Any]:
    cookie = f"{settings.LANGUAGE_COOKIE_NAME}={language}; {settings.SESSION_COOKIE_NAME}={session_key}"
    return [(b"origin", PORTAL_ORIGIN), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode())]


async def _connected(session: SignedIn, language: str = "es") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(
        application, "/ws/notifications/", headers=_headers(session.session_key, language)
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


def _notify_now(envelope: Envelope) -> None:
    # As the consumer does (outside a transaction the push goes at once).
    try:
        envelope_notify(envelope, send=layer_sender())
    finally:
        # The connection on_commit opened lives in asgiref's worker thread, which outlives this
        # test; the socket tests after it (no database access) must not inherit it.
        connections.close_all()


async def _notify(envelope: Envelope) -> None:
    await sync_to_async(_notify_now)(envelope)


@pytest.fixture(name="household")
def household_fixture(
    persona_create: Callable[..., str], sign_in: Callable[..., SignedIn]
) -> dict[str, SignedIn]:
    """Alice and Hugo (client 1), Bob (client 2) and an agent, each signed in to the portal."""
    return {
        "alice": sign_in(
            persona_create(email="alice@example.ec", name="alice", client_id=ALICE["client_id"])
        ),
        "hugo": sign_in(persona_create(email="hugo@example.ec", name="hugo", client_id=ALICE["client_id"])),
        "bob": sign_in(persona_create(email="bob@example.ec", name="bob", client_id=BOB["client_id"])),
        "agent": sign_in("agent@enlace.demo", DEMO_PASSWORD),
    }


@pytest.mark.django_db(transaction=True)
async def test_a_service_change_reaches_every_socket_of_the_client_and_not_another_clients(
    household: dict[str, SignedIn],
) -> None:
    alice = await _connected(household["alice"], "es")
    hugo = await _connected(household["hugo"], "en")
    bob = await _connected(household["bob"], "es")
    try:
        await _notify(_service_changed())

        to_alice = await alice.receive_from(timeout=2)
        assert '<section id="service-1001"' in to_alice
        assert "Tu servicio fue suspendido: falta de pago" in to_alice
        assert "Your service was suspended: overdue payment" in await hugo.receive_from(timeout=2)
        assert await bob.receive_nothing(timeout=0.5)
    finally:
        for socket in (alice, hugo, bob):
            await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_staff_socket_joins_no_client_group(household: dict[str, SignedIn]) -> None:
    staff = await _connected(household["agent"])
    try:
        await _notify(_service_changed(client_id=BOB["client_id"]))
        assert await staff.receive_nothing(timeout=0.5)
    finally:
        await staff.disconnect()
