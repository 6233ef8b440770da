"""Pay to reconnect, end to end over the broker: billing's dunning → ``billing.account.overdue``
→ the network service → the netagent → the emulated router; then a payment webhook →
``billing.account.settled`` → the router again.

Runs the real stack of ``scripts/devstack.py`` on PostgreSQL and Redis (Tansu, the back office,
the relay, the network and billing consumers, Celery, the netagent, two RouterOS emulators with
auto-dial) with the demo data: the six demo subscribers, each with this month's invoice unpaid
and nobody overdue yet. Stripe is the only outside service: a local server
(tests/fakes/stripe_server.py) that billing talks to through the real Stripe SDK, and whose
webhook the test signs with Stripe's scheme. The router is read through the real RouterOS API.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from scripts.devstack import DEMO_PASSWORD, PYTHON, ROOT, RouterSpec, Stack
from tests.e2e.test_network_flow import Router
from tests.fakes import stripe_server
from tests.fakes.stripe_server import StripeServer, sign
from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.polling import wait_until
from tests.fixtures.stack import fresh_stack

PG_PREFIX = pg_prefix("enlace_billflow_e2e_")
REDIS_URL = redis_url(9)
ROUTER_PASSWORD = "enlace-demo"
GRACE_DAYS = 5  # DunningSettings' default
# Demo subscribers (seed_network_demo): clients 1 and 3 on r1, PPPoE users demo0001, demo0003.
ALICE, ALICE_SUBSCRIPTION, ALICE_USER = 1, 1001, "demo0001"
NEIGHBOUR, NEIGHBOUR_SUBSCRIPTION = 3, 1003


@pytest.fixture(scope="module")
def stripe() -> Iterator[StripeServer]:
    server = StripeServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, stripe: StripeServer) -> Iterator[Stack]:
    routers = [
        RouterSpec(name="r1", password=ROUTER_PASSWORD),
        RouterSpec(name="r2", password=ROUTER_PASSWORD),
    ]
    with fresh_stack(
        tmp_path_factory.mktemp("billing-e2e"),
        pg_prefix=PG_PREFIX,
        redis_url=REDIS_URL,
        routers=routers,
        extra_env={
            "ENLACE_STRIPE_SECRET_KEY": stripe_server.SECRET_KEY,
            "ENLACE_STRIPE_WEBHOOK_SECRET": stripe_server.WEBHOOK_SECRET,
            "ENLACE_STRIPE_API_BASE": stripe.url,
        },
    ) as running:
        yield running


@contextmanager
def _signed_in(stack: Stack, email: str) -> Iterator[httpx.Client]:
    """An HTTP client on the back office carrying a real bearer token from identity."""
    with httpx.Client(base_url=stack.backoffice_url, timeout=10) as client:
        answer = client.post("/api/identity/v1/token", json={"email": email, "password": DEMO_PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


@pytest.fixture(scope="module")
def noc(stack: Stack) -> Iterator[httpx.Client]:
    with _signed_in(stack, "noc@enlace.demo") as client:
        yield client


@pytest.fixture(scope="module")
def carol(stack: Stack) -> Iterator[httpx.Client]:
    """Billing staff."""
    with _signed_in(stack, "billing@enlace.demo") as client:
        yield client


def service(noc: httpx.Client, subscription: int) -> dict[str, Any]:
    answer = noc.get(f"/api/network/v1/services/{subscription}/")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def applied(noc: httpx.Client, subscription: int, status: str) -> dict[str, Any] | None:
    body = service(noc, subscription)
    done = body["in_sync"] and body["last_result"]["status"] == "ok" and body["status"] == status
    return body if done else None


def dunning_run(stack: Stack, today: date) -> str:
    """Staff's command, as the daily Celery task runs it, for a fixed day."""
    result = subprocess.run(
        [PYTHON, "-m", "backoffice", "dunning_run", "--today", today.isoformat()],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_an_unpaid_invoice_past_grace_suspends_and_its_payment_webhook_reconnects(
    stack: Stack, noc: httpx.Client, carol: httpx.Client, stripe: StripeServer
) -> None:
    r1 = Router(stack.config.routers[0])
    alice = wait_until("service 1001 active on r1", lambda: applied(noc, ALICE_SUBSCRIPTION, "active"))
    neighbour = wait_until(
        "service 1003 active on r1", lambda: applied(noc, NEIGHBOUR_SUBSCRIPTION, "active")
    )
    assert alice["router"] == neighbour["router"] == "r1"
    session = wait_until("Alice's CPE online", lambda: r1.session(ALICE_USER))

    # Alice owes this month's invoice (demo data); nobody is overdue yet.
    answer = carol.get("/api/billing/v1/invoices/", params={"client_id": ALICE, "status": "issued"})
    assert answer.status_code == 200, answer.text
    [invoice] = answer.json()["results"]
    account = carol.get(f"/api/billing/v1/accounts/{ALICE}/").json()
    assert account["overdue"] is False
    assert Decimal(account["balance"]) == Decimal(invoice["total"]) > 0
    assert not r1.suspended(alice["address"])

    # The last day of grace changes nothing; the day after, dunning declares the account overdue.
    due = date.fromisoformat(invoice["due_date"])
    assert "0 accounts declared overdue" in dunning_run(stack, due + timedelta(days=GRACE_DAYS))
    assert "6 accounts declared overdue" in dunning_run(stack, due + timedelta(days=GRACE_DAYS + 1))

    wait_until("Alice's address in morosos", lambda: r1.suspended(alice["address"]))
    wait_until(
        "Alice's PPP session kicked",
        lambda: (r1.session(ALICE_USER) or {}).get("session-id") != session["session-id"],
    )
    body = wait_until("Alice's suspension applied", lambda: applied(noc, ALICE_SUBSCRIPTION, "suspended"))
    assert body["suspension_reason"] == "overdue"
    wait_until("the neighbour's address in morosos", lambda: r1.suspended(neighbour["address"]))
    assert carol.get(f"/api/billing/v1/accounts/{ALICE}/").json()["overdue"] is True

    # A pay link for Alice's balance, paid at Stripe; Stripe's signed webhook tells billing.
    answer = carol.post(
        "/api/billing/v1/checkouts/",
        json={
            "client_id": ALICE,
            "gateway": "stripe",
            "success_url": "https://portal.example.ec/billing/paid",
            "cancel_url": "https://portal.example.ec/billing",
        },
    )
    assert answer.status_code == 201, answer.text
    checkout = answer.json()
    assert Decimal(checkout["amount"]) == Decimal(account["balance"])
    [session_id] = [
        s["id"] for s in stripe.sessions.values() if s["client_reference_id"] == checkout["reference"]
    ]
    stripe.pay(session_id)
    event = stripe.event("checkout.session.completed", session_id)
    answer = httpx.post(
        f"{stack.backoffice_url}/api/billing/v1/webhooks/stripe",
        content=event,
        headers={"Stripe-Signature": sign(event), "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"event_id": json.loads(event)["id"], "result": "applied"}

    # billing.account.settled → the network service → the router: Alice is back online.
    wait_until("Alice's address out of morosos", lambda: not r1.suspended(alice["address"]))
    wait_until("Alice's reconnection applied", lambda: applied(noc, ALICE_SUBSCRIPTION, "active"))
    account = carol.get(f"/api/billing/v1/accounts/{ALICE}/").json()
    assert account["overdue"] is False and Decimal(account["balance"]) == 0
    # Her neighbour on the same router has not paid and stays suspended.
    assert r1.suspended(neighbour["address"])
    assert service(noc, NEIGHBOUR_SUBSCRIPTION)["status"] == "suspended"
