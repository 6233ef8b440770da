"""The subscriber's support page: open a ticket from the form and see only their own tickets,
against the real support service (the back office under Daphne, tests/portal/identity_server.py).

The demo subscriber is client 1; the demo agent opens a ticket for client 2 through the API,
which the subscriber must never see.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from django.test import Client
from django.urls import reverse

from portal.identity_client import IdentityClient
from tests.portal.identity_server import DEMO_PASSWORD, IdentityServer

SUBSCRIBER = "subscriber@enlace.demo"
AGENT = "agent@enlace.demo"
_addresses = itertools.count(60)


def _address() -> str:
    return f"203.0.113.{next(_addresses)}"


def _signed_in(email: str) -> Client:
    client = Client(REMOTE_ADDR=_address())
    response = client.post(reverse("portal:sign-in"), {"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def _support(identity: IdentityServer, settings: Any) -> IdentityServer:
    settings.ENLACE_SUPPORT_URL = identity.url
    return identity


def test_the_subscriber_opens_a_ticket_and_finds_it_in_their_list_in_spanish(
    identity: IdentityServer, settings: Any
) -> None:
    _support(identity, settings)
    client = _signed_in(SUBSCRIBER)

    sent = client.post(
        reverse("portal:support"), {"subject": "Se corta el internet por la noche", "body": "Desde el lunes"}
    )
    page = client.get(reverse("portal:support")).content.decode()

    assert sent.status_code == 302
    assert "Se corta el internet por la noche" in page
    assert "Nuevo" in page
    assert "Mis tickets" in page


def test_the_page_is_in_english_for_an_english_browser(identity: IdentityServer, settings: Any) -> None:
    _support(identity, settings)
    client = _signed_in(SUBSCRIBER)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get(reverse("portal:support")).content.decode()

    assert "Open a ticket" in page
    assert "My tickets" in page


def test_another_clients_ticket_never_shows_on_the_subscribers_page(
    identity: IdentityServer, settings: Any
) -> None:
    _support(identity, settings)
    token = IdentityClient(identity.url).token_obtain(
        email=AGENT, password=DEMO_PASSWORD, client_ip=_address()
    )
    created = httpx.post(
        f"{identity.url}/api/support/v1/tickets",
        json={"client_id": 2, "subject": "Cliente dos: antena caída"},
        headers={"Authorization": f"Bearer {token.access_token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text

    page = _signed_in(SUBSCRIBER).get(reverse("portal:support")).content.decode()

    assert "Cliente dos: antena caída" not in page


def test_a_ticket_without_a_subject_is_refused_on_the_form(identity: IdentityServer, settings: Any) -> None:
    _support(identity, settings)

    response = _signed_in(SUBSCRIBER).post(reverse("portal:support"), {"subject": "", "body": "x"})

    assert response.status_code == 200
    assert "field-error" in response.content.decode()


def test_the_support_page_needs_a_sign_in(identity: IdentityServer, settings: Any) -> None:
    response = Client().get(reverse("portal:support"))

    assert response.status_code == 302
    assert reverse("portal:sign-in") in response["Location"]
