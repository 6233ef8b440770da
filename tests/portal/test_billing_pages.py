"""The subscriber's billing pages against the real billing service (the back office under
Daphne, tests/portal/identity_server.py), with billing's data written by billing's own services
(``seed_billing_demo``: the read model, billing runs and dunning on fixed days).

The cast: Carla (client 3) is two months behind and overdue; Diego (client 4) has an account
and no invoice yet; Elena (client 5) owes two months and pays them with the demo gateway;
Fausto (client 6) has 51 months of invoices. A month of hogar-20 is 20.00 + 15 % IVA = 23.00.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from django.urls import reverse

from portal.identity_client import IdentityClient
from tests.portal.conftest import SignedIn
from tests.portal.identity_server import DEMO_PASSWORD, ROOT, IdentityServer

# An invoice number as the list links it.
NUMBER = re.compile(r">(\d{3}-\d{3}-\d{9})</a>")


def _manage(server: IdentityServer, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "backoffice", *args], env=server.env, check=True, cwd=ROOT, capture_output=True
    )


def _seed(server: IdentityServer, client: int, *, months: int, start: str = "2026-01-01") -> None:
    _manage(
        server,
        "seed_billing_demo",
        "--client",
        str(client),
        "--name",
        f"Cliente {client}",
        "--start",
        start,
        "--months",
        str(months),
    )


@pytest.fixture(scope="module", name="billing")
def billing_fixture(network_demo: IdentityServer) -> IdentityServer:
    """Billing's database emptied (the server outlives test runs) and the cast's accounts."""
    _manage(network_demo, "flush", "--database", "billing", "--no-input")
    _seed(network_demo, 3, months=2)
    # Billed on the 15th, starting after every run here (a run bills everyone due that day).
    _seed(network_demo, 4, months=0, start="2026-03-15")
    _seed(network_demo, 5, months=2)
    _seed(network_demo, 6, months=51, start="2021-01-01")
    # 2026-02-20: January's invoice is past its due date (11th) and the 5 days' grace.
    _manage(network_demo, "seed_billing_demo", "--dunning-on", "2026-02-20")
    return network_demo


@pytest.fixture(name="as_client")
def as_client_fixture(
    billing: IdentityServer,
    identity: IdentityServer,
    settings: Any,
    persona_create: Callable[..., str],
    sign_in: Callable[..., SignedIn],
) -> Callable[[int], SignedIn]:
    settings.ENLACE_BILLING_URL = identity.url
    # Billing wants return URLs it can validate ("testserver" is not a host name).
    settings.ENLACE_PORTAL_URL = "http://portal.enlace.test"

    def signed_in(client_id: int) -> SignedIn:
        return sign_in(persona_create(name=f"client{client_id}", client_id=client_id))

    return signed_in


def _page(browser: SignedIn, url: str, status: int = 200) -> str:
    response = browser.client.get(url)
    assert response.status_code == status, response.content.decode()[:2000]
    return response.content.decode()


def _noc(server: IdentityServer, subscription: int, action: str, body: dict[str, str] | None = None) -> None:
    token = IdentityClient(server.url).token_obtain(
        email="noc@enlace.demo", password=DEMO_PASSWORD, client_ip="203.0.113.250"
    )
    response = httpx.post(
        f"{server.url}/api/network/v1/services/{subscription}/{action}",
        json=body or {},
        headers={"Authorization": f"Bearer {token.access_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_a_suspended_subscribers_dashboard_says_why_how_much_and_offers_to_pay(
    as_client: Callable[[int], SignedIn], billing: IdentityServer
) -> None:
    carla = as_client(3)
    _noc(billing, 1003, "suspend", {"reason": "overdue"})
    try:
        page = _page(carla, reverse("portal:dashboard"))
    finally:
        _noc(billing, 1003, "reactivate")

    assert "Tu servicio está suspendido por falta de pago." in page
    assert "Debes $46.00." in page
    assert 'data-testid="pay-demo"' in page
    assert "Pagar (demostración)" in page
    assert "Pasarela de demostración: no se mueve dinero real." in page


def test_the_billing_page_shows_the_balance_and_the_invoices_newest_first(
    as_client: Callable[[int], SignedIn],
) -> None:
    page = _page(as_client(3), reverse("portal:billing"))

    assert 'data-testid="billing-balance">$46.00<' in page
    numbers = NUMBER.findall(page)
    assert len(numbers) == 2
    assert numbers == sorted(numbers, reverse=True)
    assert page.count("Vencida") == 2
    assert page.count("$23.00") == 4  # total and due of each


def test_a_client_without_invoices_sees_that_there_are_none(as_client: Callable[[int], SignedIn]) -> None:
    page = _page(as_client(4), reverse("portal:billing"))

    assert "Todavía no tienes facturas." in page
    assert 'data-testid="pay-form"' not in page
    assert "Estás al día. ¡Gracias!" in page


def test_the_invoices_come_fifty_to_a_page(as_client: Callable[[int], SignedIn]) -> None:
    fausto = as_client(6)

    first = _page(fausto, reverse("portal:billing"))
    second = _page(fausto, reverse("portal:billing") + "?page=2")
    _page(fausto, reverse("portal:billing") + "?page=3", status=404)

    assert first.count('data-testid="invoice-row"') == 50
    assert 'href="?page=2"' in first
    assert "Página 1 · 51 facturas" in first
    assert second.count('data-testid="invoice-row"') == 1
    assert 'href="?page=1"' in second
    assert set(NUMBER.findall(first)).isdisjoint(NUMBER.findall(second))


def test_an_htmx_page_change_swaps_only_the_list(as_client: Callable[[int], SignedIn]) -> None:
    response = as_client(6).client.get(reverse("portal:billing") + "?page=2", headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="invoice-list"')
    assert "<html" not in body


def test_an_invoice_shows_its_lines_and_downloads_as_a_pdf(as_client: Callable[[int], SignedIn]) -> None:
    carla = as_client(3)
    number = NUMBER.findall(_page(carla, reverse("portal:billing")))[-1]

    page = _page(carla, reverse("portal:billing-invoice", args=[number]))
    pdf = carla.client.get(reverse("portal:billing-invoice-pdf", args=[number]))

    assert f"Factura {number}" in page
    assert "Cliente 3" in page
    assert 'data-testid="invoice-total">$23.00<' in page
    assert "15% · $3.00" in page
    assert 'data-testid="pay-form"' in page  # an open invoice can be paid on its own
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="factura-{number}.pdf"'
    assert pdf.content.startswith(b"%PDF")


def test_a_subscriber_cannot_see_another_clients_invoice(as_client: Callable[[int], SignedIn]) -> None:
    carlas = NUMBER.findall(_page(as_client(3), reverse("portal:billing")))[0]
    diego = as_client(4)

    _page(diego, reverse("portal:billing-invoice", args=[carlas]), status=404)
    assert diego.client.get(reverse("portal:billing-invoice-pdf", args=[carlas])).status_code == 404


def test_elena_pays_her_balance_with_the_demo_gateway_and_only_the_webhook_makes_it_paid(
    as_client: Callable[[int], SignedIn],
) -> None:
    elena = as_client(5)

    started = elena.client.post(reverse("portal:billing-pay"), {"gateway": "demo"})
    assert started.status_code == 302
    demo_path = urlparse(started["Location"]).path
    match = re.fullmatch(r"/billing/demo-pay/demo_([0-9a-f-]{36})", demo_path)
    assert match, started["Location"]
    reference = match.group(1)
    demo_page = _page(elena, demo_path)
    assert "DEMOSTRACIÓN — no se mueve dinero real" in demo_page
    assert 'data-testid="demo-amount">$46.00<' in demo_page

    # Coming back from the gateway proves nothing: the result page waits for the webhook.
    returned = elena.client.get(reverse("portal:billing-checkout-return"))
    assert returned["Location"] == reverse("portal:billing-checkout", args=[reference])
    waiting = _page(elena, returned["Location"])
    assert 'data-state="waiting"' in waiting
    assert "Pago recibido" not in waiting

    paid = elena.client.post(demo_path)
    assert paid["Location"] == reverse("portal:billing-checkout", args=[reference])
    result = _page(elena, paid["Location"])
    assert 'data-testid="payment-step" data-state="received"' in result
    assert "Pago recibido" in result

    payments = _page(elena, reverse("portal:billing-payments"))
    assert payments.count('data-testid="payment-row"') == 1
    assert "$46.00" in payments
    assert "Pasarela de demostración" in payments
    home = _page(elena, reverse("portal:billing"))
    assert 'data-testid="billing-balance">$0.00<' in home
    assert 'data-testid="pay-form"' not in home
    assert "Pagada" in home
    # Paying again: the demo page of a paid checkout goes straight to its result.
    assert elena.client.post(demo_path)["Location"] == reverse("portal:billing-checkout", args=[reference])


def test_the_result_pages_refresh_holds_only_the_steps_already_done(
    as_client: Callable[[int], SignedIn],
) -> None:
    carla = as_client(3)
    started = carla.client.post(reverse("portal:billing-pay"), {"gateway": "demo"})
    reference = urlparse(started["Location"]).path.rsplit("demo_", 1)[1]

    refresh = carla.client.get(
        reverse("portal:billing-checkout", args=[reference]), headers={"HX-Request": "true"}
    ).content.decode()

    # Not paid yet, and Carla's service is active and applied: nothing waiting is sent.
    assert "payment-step" not in refresh
    assert 'data-state="waiting"' not in refresh


def test_nothing_to_pay_is_said_on_the_page(as_client: Callable[[int], SignedIn]) -> None:
    diego = as_client(4)

    response = diego.client.post(reverse("portal:billing-pay"), {"gateway": "demo"}, follow=True)

    assert "No hay nada por pagar." in response.content.decode()


def test_the_demo_page_of_another_clients_checkout_is_not_found(as_client: Callable[[int], SignedIn]) -> None:
    started = as_client(3).client.post(reverse("portal:billing-pay"), {"gateway": "demo"})
    demo_path = urlparse(started["Location"]).path

    diego = as_client(4)
    assert diego.client.get(demo_path).status_code == 404
    assert diego.client.post(demo_path).status_code == 404
