"""Personas and helpers of the portal tests (run with --ds=tests.settings_portal)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from portal.accounts import SESSION_TOKENS, SESSION_USER
from tests.portal.identity_server import (  # noqa: F401
    DEMO_PASSWORD,
    IdentityServer,
    identity_fixture,
    identity_server_fixture,
    network_demo_fixture,
)

ALICE: dict[str, Any] = {
    "id": 101,
    "email": "alice@example.ec",
    "full_name": "Alice Andrade",
    "roles": ["subscriber"],
    "client_id": 1,
    "language": "es",
    "email_verified": True,
}
BOB: dict[str, Any] = {
    **ALICE,
    "id": 102,
    "email": "bob@example.ec",
    "full_name": "Bob Benítez",
    "client_id": 2,
}


def session_for(user: dict[str, Any] | None) -> str:
    """A stored portal session (signed in as ``user`` when given); returns its key."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["created_by"] = "tests"
    if user is not None:
        store[SESSION_USER] = user
    store.save()
    return str(store.session_key)


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    # channels keeps one layer object per process; its Redis pools belong to the event loop
    # of the test that made them, so each test gets a new one.
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


PERSONA_PASSWORD = "una clave de prueba 2026"
_addresses = itertools.count(1)


@dataclass
class SignedIn:
    """A browser signed in to the portal (through the real identity)."""

    client: Client
    session_key: str
    user: dict[str, Any]

    def tokens(self) -> dict[str, Any]:
        return dict(self.client.session[SESSION_TOKENS])


def _admin_token(identity: IdentityServer) -> str:
    response = httpx.post(
        f"{identity.url}/api/identity/v1/token",
        json={"email": "admin@enlace.demo", "password": DEMO_PASSWORD},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


@pytest.fixture(name="persona_create")
def persona_create_fixture(identity: IdentityServer) -> Callable[..., str]:
    """Creates a subscriber in identity (password ``PERSONA_PASSWORD``, a fresh e-mail unless
    given; an existing one is kept) and returns the e-mail."""

    def create(*, name: str = "persona", client_id: int = 1, email: str | None = None) -> str:
        email = email or f"{name}-{uuid.uuid4().hex[:8]}@example.ec"
        response = httpx.post(
            f"{identity.url}/api/identity/v1/users",
            headers={"Authorization": f"Bearer {_admin_token(identity)}"},
            json={
                "email": email,
                "roles": ["subscriber"],
                "password": PERSONA_PASSWORD,
                "full_name": name.title(),
                "client_id": client_id,
            },
        )
        assert response.status_code in (201, 409), response.text
        return email

    return create


@pytest.fixture(name="sign_in")
def sign_in_fixture(identity: IdentityServer) -> Callable[..., SignedIn]:
    """Signs a fresh browser in to the portal as ``email`` (each from its own address)."""

    def sign_in(email: str, password: str = PERSONA_PASSWORD) -> SignedIn:
        client = Client(REMOTE_ADDR=f"198.51.100.{200 + next(_addresses) % 50}")
        response = client.post(reverse("portal:sign-in"), {"email": email, "password": password})
        assert response.status_code == 302, response.content.decode()[:2000]
        session = client.session
        return SignedIn(client=client, session_key=str(session.session_key), user=dict(session[SESSION_USER]))

    return sign_in
