"""The subscriber's service card on the dashboard, read from a real network service.

The demo subscriber (client 1) has subscription 1001 on plan hogar-20; the demo agent is staff
(no client); Nora (NOC) suspends and reactivates the service through the network API.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from django.test import Client
from django.urls import reverse

from portal.identity_client import IdentityClient
from tests.fixtures.polling import free_port
from tests.portal.identity_server import DEMO_PASSWORD, IdentityServer

SUBSCRIBER = "subscriber@enlace.demo"
AGENT = "agent@enlace.demo"
NOC = "noc@enlace.demo"
_addresses = itertools.count(10)


def _address() -> str:
    """A fresh client address per sign-in, so identity's per-address throttle never spills over."""
    return f"203.0.113.{next(_addresses)}"


def _signed_in(email: str) -> Client:
    client = Client(REMOTE_ADDR=_address())
    response = client.post(reverse("portal:sign-in"), {"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def _noc_calls(server: IdentityServer, action: str, body: dict[str, str] | None = None) -> None:
    """Nora, of the NOC, POSTs ``action`` on subscription 1001 through the network API."""
    token = IdentityClient(server.url).token_obtain(email=NOC, password=DEMO_PASSWORD, client_ip=_address())
    response = httpx.post(
        f"{server.url}/api/network/v1/services/1001/{action}",
        json=body or {},
        headers={"Authorization": f"Bearer {token.access_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def _dashboard(client: Client) -> str:
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_subscriber_sees_the_card_of_their_service_with_plan_speed_and_connection(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    page = _dashboard(_signed_in(SUBSCRIBER))

    assert 'id="service-1001"' in page
    assert "Mi servicio" in page
    assert "hogar-20" in page
    assert "20M de bajada / 5M de subida" in page
    # No router ever reported on the demo line.
    assert "Sin datos todavía" in page
    # Client 2's service is not theirs.
    assert 'id="service-1002"' not in page


def test_a_suspension_for_overdue_payment_shows_the_reason_and_how_to_pay_until_reactivated(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    client = _signed_in(SUBSCRIBER)
    _noc_calls(identity, "suspend", {"reason": "overdue"})
    try:
        page = _dashboard(client)
        assert "Suspendido" in page
        assert "por falta de pago" in page
        assert "Paga tu factura pendiente" in page
    finally:
        _noc_calls(identity, "reactivate")

    page = _dashboard(client)
    assert "Suspendido" not in page
    assert ">Activo<" in page
    assert "El cambio se está aplicando a tu conexión." in page


def test_staff_see_no_service_card_and_no_error(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    page = _dashboard(_signed_in(AGENT))

    assert "Hola, Bob Agent" in page
    assert 'data-testid="service-card"' not in page
    assert 'data-testid="services-unavailable"' not in page


def test_an_unreachable_network_service_is_said_in_place_of_the_card(
    network_demo: IdentityServer, identity: IdentityServer, settings: Any
) -> None:
    client = _signed_in(SUBSCRIBER)
    settings.ENLACE_NETWORK_URL = f"http://127.0.0.1:{free_port()}"

    page = _dashboard(client)

    assert "Hola, Alice Subscriber" in page
    assert "No podemos mostrar el estado de tu servicio en este momento." in page
    assert 'data-testid="service-card"' not in page


def test_a_pushed_card_fetches_the_subscribers_own_card_again_but_not_another_clients(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    client = _signed_in(SUBSCRIBER)

    own = client.get(reverse("portal:service-card", args=[1001]), headers={"HX-Request": "true"})
    other = client.get(reverse("portal:service-card", args=[1002]), headers={"HX-Request": "true"})

    assert own.status_code == 200
    assert own.content.decode().lstrip().startswith('<section id="service-1001"')
    assert "hogar-20" in own.content.decode()
    assert other.status_code == 204
