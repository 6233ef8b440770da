"""The README's run command brings the whole system up on embedded defaults and stops cleanly."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import websockets

from tests.fixtures.polling import wait_until
from tests.fixtures.run_command import DEMO_PASSWORD, morosos, run_command


def test_run_command_starts_the_system_with_demo_data_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with run_command(tmp_path) as system:
        # The banner lists the URLs and the demo accounts a person needs to start.
        assert system.portal + "/" in system.banner
        assert "subscriber@enlace.demo" in system.banner and DEMO_PASSWORD in system.banner

        assert httpx.get(system.portal + "/healthz", timeout=5).status_code == 200
        assert httpx.get(system.backoffice + "/healthz", timeout=5).status_code == 200
        ready = httpx.get(system.backoffice + "/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        sign_in = httpx.get(system.portal + "/", timeout=5, follow_redirects=True)
        assert sign_in.status_code == 200
        # Embedded mode keeps its data in the given folder: one SQLite database per service.
        for service in ("identity", "clients", "billing", "network", "support", "portal"):
            assert (tmp_path / f"{service}.sqlite3").exists(), service

        assert system.rasa + "/webhooks/rest/webhook" in system.banner

        _the_unpaid_demo_subscriber_is_suspended_and_a_payment_reconnects_them(
            system.backoffice, system.portal, system.router_ports["r1"]
        )
        _the_subscriber_chats_with_the_bot_about_their_own_service(system.portal)


def _token(backoffice: str, email: str) -> str:
    credentials = {"email": email, "password": DEMO_PASSWORD}
    return str(httpx.post(backoffice + "/api/identity/v1/token", json=credentials).json()["access_token"])


def _the_unpaid_demo_subscriber_is_suspended_and_a_payment_reconnects_them(
    backoffice: str, portal: str, router_port: int
) -> None:
    noc = httpx.Client(
        base_url=backoffice + "/api/network/v1",
        headers={"Authorization": f"Bearer {_token(backoffice, 'noc@enlace.demo')}"},
    )
    billing = httpx.Client(
        base_url=backoffice + "/api/billing/v1",
        headers={"Authorization": f"Bearer {_token(backoffice, 'billing@enlace.demo')}"},
    )
    # The demo subscriber (client 1, subscription 1001 on the first emulated router) did not pay
    # last month's invoice: billing declared the account overdue and the network suspended it.
    account = billing.get("/accounts/1/").json()
    assert account["overdue"] is True and float(account["balance"]) > 0, account

    def suspended_on_its_router() -> bool:
        service = noc.get("/services/1001/").json()
        return bool(service["in_sync"] and service["status"] == "suspended")

    wait_until(
        "the demo service is suspended for non-payment on its router", suspended_on_its_router, timeout=60
    )
    address = noc.get("/services/1001/").json()["address"]
    assert address in morosos(router_port)

    browser = httpx.Client(base_url=portal, follow_redirects=True)
    browser.get("/signin/")
    signed_in = browser.post(
        "/signin/",
        data={
            "email": "subscriber@enlace.demo",
            "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        headers={"Referer": portal + "/signin/"},
    )
    assert signed_in.status_code == 200
    assert "Suspendido" in signed_in.text  # the dashboard, in Spanish, shows the suspension

    # Billing staff record the subscriber's cash payment of the balance: settled, reconnected.
    paid = billing.post(
        "/payments/",
        json={"client_id": 1, "amount": account["balance"], "method": "cash", "reference": "recibo demo"},
    )
    assert paid.status_code == 201, paid.text
    wait_until("the address left the morosos list", lambda: address not in morosos(router_port), timeout=60)


def _signed_in_subscriber(portal: str) -> httpx.Client:
    browser = httpx.Client(base_url=portal, follow_redirects=True)
    browser.get("/signin/")
    signed_in = browser.post(
        "/signin/",
        data={
            "email": "subscriber@enlace.demo",
            "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        headers={"Referer": portal + "/signin/"},
    )
    assert signed_in.status_code == 200
    return browser


def _the_subscriber_chats_with_the_bot_about_their_own_service(portal: str) -> None:
    """The portal's socket → the bridge → Rasa → the action server → the back office with the
    bot's token, and back: the portal and the action server share the metadata key."""
    browser = _signed_in_subscriber(portal)
    panel = browser.get("/chat/panel/")
    assert panel.status_code == 200, panel.text
    found = re.search(r'ws-connect="(/ws/chat/\d+/)"', panel.text)
    assert found, panel.text
    cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())

    async def exchange() -> str:
        url = portal.replace("http://", "ws://") + found.group(1)
        headers = {"Origin": portal, "Cookie": cookie}
        async with websockets.connect(url, additional_headers=headers) as socket:
            await socket.send(json.dumps({"type": "sync", "after": 0}))
            await socket.send(
                json.dumps({"type": "message", "text": "mi servicio está activo?", "client_msg_id": "e2e-1"})
            )
            while True:
                fragment = str(await asyncio.wait_for(socket.recv(), 90))
                if 'data-sender="bot"' in fragment:
                    return fragment

    answer = asyncio.run(exchange())
    # The demo subscriber is client 1: subscription 1001 on hogar-20 (20M/5M).
    assert "Tu servicio hogar-20 (20M/5M)" in answer, answer
