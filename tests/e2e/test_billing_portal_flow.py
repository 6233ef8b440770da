"""A suspended subscriber sees why, pays with the demo gateway, and the open page shows the
payment received and then the service restored, without a reload.

Runs the real stack of ``scripts/devstack.py`` on PostgreSQL and Redis (Tansu, back office,
relay, network consumers, netagent, one RouterOS emulator, portal and its consumer) and drives
Debian's Chromium through Playwright. The stack's demo billing history (``seed_billing_history``)
leaves client 1 with last month's invoice unpaid, so dunning declares the account overdue past
grace: its ``billing.account.overdue`` goes through the outbox, Kafka and the network service to
the router, as in production. The router is read over
the RouterOS API, as an operator would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from scripts.devstack import DEMO_PASSWORD, RouterSpec, Stack
from tests.e2e.test_network_flow import Router, applied_with
from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.polling import wait_until
from tests.fixtures.stack import fresh_stack

pytestmark = pytest.mark.browser

PG_PREFIX = pg_prefix("enlace_billptl_e2e_")
REDIS_URL = redis_url(9)
SUBSCRIBER = "subscriber@enlace.demo"  # client 1, service 1001 on r1 (seed_network_demo)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with fresh_stack(
        tmp_path_factory.mktemp("billing-portal-e2e"),
        pg_prefix=PG_PREFIX,
        redis_url=REDIS_URL,
        routers=[RouterSpec(name="r1")],
        # The demo's billing history (seed_billing_history): client 1 did not pay last month's
        # invoice, so dunning declared the account overdue past grace before the test starts.
        demo_overdue_clients=[1],
    ) as running:
        yield running


@pytest.fixture(scope="module")
def noc(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.backoffice_url, timeout=10) as client:
        answer = client.post(
            "/api/identity/v1/token", json={"email": "noc@enlace.demo", "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


def _balance_of_client_1(stack: Stack) -> str:
    with httpx.Client(base_url=stack.backoffice_url, timeout=10) as client:
        answer = client.post(
            "/api/identity/v1/token", json={"email": "billing@enlace.demo", "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        account = client.get("/api/billing/v1/accounts/1/", headers=headers).json()
    assert account["overdue"] is True, account
    return str(account["balance"])


def test_a_suspended_subscriber_pays_with_the_demo_gateway_and_sees_the_service_restored_live(
    stack: Stack, noc: httpx.Client
) -> None:
    from playwright.sync_api import expect, sync_playwright

    r1 = Router(stack.config.routers[0])
    # billing.account.overdue → the network service → the netagent: the address is in morosos.
    address = wait_until("the overdue suspension applied", applied_with(noc, "suspended"))["address"]
    wait_until("the address in morosos after billing.account.overdue", lambda: r1.suspended(address))
    # What billing says the subscriber owes (the page must show the same figure).
    owed = _balance_of_client_1(stack)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="es-EC").new_page()
            page.goto(stack.portal_url + "/")
            page.get_by_label("Correo electrónico").fill(SUBSCRIBER)
            page.get_by_label("Contraseña", exact=True).fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Iniciar sesión").click()
            expect(page).to_have_url(re.compile(r"/dashboard/$"))

            # Why, how much, and the pay button.
            alert = page.get_by_test_id("billing-alert")
            expect(alert).to_contain_text("Tu servicio está suspendido por falta de pago.")
            expect(alert).to_contain_text(f"Debes ${owed}.")
            expect(page.get_by_test_id("service-card")).to_contain_text("por falta de pago")
            page.get_by_role("button", name="Pagar (demostración)").click()

            # The demo gateway's page, clearly labelled.
            expect(page).to_have_url(re.compile(r"/billing/demo-pay/demo_[0-9a-f-]+$"))
            expect(page.get_by_text("DEMOSTRACIÓN — no se mueve dinero real")).to_be_visible()
            with page.expect_websocket(lambda ws: ws.url.endswith("/ws/notifications/")):
                page.get_by_role("button", name=f"Pagar ${owed} (demostración)").click()
                expect(page).to_have_url(re.compile(r"/billing/checkouts/[0-9a-f-]+/$"))
            # Marks this document: a reload or a navigation would lose the mark.
            page.evaluate("window.enlaceSameDocument = true")

            expect(page.get_by_test_id("payment-step")).to_contain_text("Pago recibido")
            service_step = page.locator("#service-step-1001")
            expect(service_step).to_contain_text("Servicio restablecido", timeout=30_000)
            expect(service_step).to_have_attribute("data-state", "restored")
            assert page.evaluate("window.enlaceSameDocument === true")
        finally:
            browser.close()

    # The router has it: the address left morosos, and the network service says it is applied.
    assert not r1.suspended(address)
    wait_until("the reconnection applied", applied_with(noc, "active"))
