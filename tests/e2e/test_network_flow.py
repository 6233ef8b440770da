"""The network chain end to end: API or billing event → network service → outbox relay → Kafka →
netagent → emulated MikroTik router, and the netagent's result back into the API.

Runs the real stack of ``scripts/devstack.py`` on PostgreSQL and Redis: Tansu, the back-office
(identity and network APIs), the relay, the network consumers, the netagent and two RouterOS
emulators (auto-dial, redial 5 s after a kick). The router is checked through the real RouterOS
API over TCP, as an operator would, never through the stack's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from enlace_messaging import catalog
from enlace_messaging.envelope import Envelope
from enlace_messaging.publisher import Publisher
from netagent.emulator import ApiClient
from scripts.devstack import DEMO_PASSWORD, RouterSpec, Stack
from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.polling import wait_until
from tests.fixtures.stack import fresh_stack

PG_PREFIX = pg_prefix("enlace_netflow_e2e_")
REDIS_URL = redis_url(8)
ROUTER_PASSWORD = "enlace-demo"
# Demo subscriber 1 (client 1): created by seed_clients_demo on r1, provisioned from its events.
SUBSCRIPTION = 1001
CLIENT = 1
USERNAME = "demo0001"
SUSPENSION_LIST = "morosos"
# Correctness, not speed: generous bounds so a loaded CI machine does not flake.
TIMEOUT = 30.0

T = TypeVar("T")


class Router:
    """Reads an emulated router over the RouterOS API, like an operator's tool would."""

    def __init__(self, spec: RouterSpec) -> None:
        self.spec = spec

    def print(self, path: str) -> list[dict[str, str]]:
        # A fresh connection per read: the probe must not share state with the netagent.
        with ApiClient("127.0.0.1", self.spec.port) as client:
            login = client.login(self.spec.username, self.spec.password)
            assert login[-1][0] == "!done" and not any(s[0] == "!trap" for s in login), login
            rows: list[dict[str, str]] = []
            for sentence in client.talk(f"{path}/print"):
                if sentence[0] == "!trap":
                    raise AssertionError(f"{path}/print refused: {sentence}")
                if sentence[0] == "!re":
                    rows.append(dict(word[1:].split("=", 1) for word in sentence[1:] if word.startswith("=")))
            return rows

    def secret(self, name: str) -> dict[str, str] | None:
        return next((r for r in self.print("/ppp/secret") if r.get("name") == name), None)

    def queue(self, name: str) -> dict[str, str] | None:
        return next((r for r in self.print("/queue/simple") if r.get("name") == name), None)

    def session(self, name: str) -> dict[str, str] | None:
        return next((r for r in self.print("/ppp/active") if r.get("name") == name), None)

    def suspended(self, address: str) -> bool:
        return any(
            r.get("list") == SUSPENSION_LIST and r.get("address") == address
            for r in self.print("/ip/firewall/address-list")
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    routers = [
        RouterSpec(name="r1", password=ROUTER_PASSWORD),
        RouterSpec(name="r2", password=ROUTER_PASSWORD),
    ]
    with fresh_stack(
        tmp_path_factory.mktemp("network-e2e"), pg_prefix=PG_PREFIX, redis_url=REDIS_URL, routers=routers
    ) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client on the back-office carrying a real NOC bearer token from identity."""
    with httpx.Client(base_url=stack.backoffice_url, timeout=10) as client:
        answer = client.post(
            "/api/identity/v1/token", json={"email": "noc@enlace.demo", "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


@pytest.fixture(scope="module")
def publisher(stack: Stack) -> Iterator[Publisher]:
    publisher = Publisher(stack.kafka_bootstrap)
    yield publisher
    publisher.close()


def service(api: httpx.Client) -> dict[str, Any]:
    answer = api.get(f"/api/network/v1/services/{SUBSCRIPTION}/")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def applied_with(api: httpx.Client, status: str) -> Callable[[], dict[str, Any] | None]:
    """A probe: the service once its latest revision is applied on the router with ``status``."""

    def probe() -> dict[str, Any] | None:
        body = service(api)
        applied = body["in_sync"] and body["last_result"]["status"] == "ok" and body["status"] == status
        return body if applied else None

    return probe


def billing_event(publisher: Publisher, type_: str) -> None:
    """What billing publishes (via its outbox) when an account falls overdue or is settled."""
    envelope = Envelope.new(type=type_, data={"client_id": CLIENT, "balance": "0.00"}, source="billing")
    publisher.publish(catalog.BILLING_EVENTS, str(CLIENT), envelope)


def test_a_service_is_provisioned_suspended_and_reactivated_on_its_router(
    stack: Stack, api: httpx.Client, publisher: Publisher
) -> None:
    r1 = Router(stack.config.routers[0])

    # Provisioning (demo data): secret and queue on r1, confirmed back into the API.
    body = wait_until("service 1001 applied as active", applied_with(api, "active"))
    assert body["router"] == "r1"
    address = body["address"]
    secret = wait_until("the PPP secret on r1", lambda: r1.secret(USERNAME))
    assert secret["remote-address"] == address
    assert secret["service"] == "pppoe" and secret["disabled"] == "false"
    assert secret["comment"] == f"enlace:sub={SUBSCRIPTION}"
    queue = wait_until("the simple queue on r1", lambda: r1.queue(f"enlace-{USERNAME}"))
    assert queue["target"].split("/")[0] == address
    assert queue["max-limit"] == "5000000/20000000"  # upload/download of hogar-20 (20M/5M)
    assert not r1.suspended(address)
    # The CPE dials in by itself once provisioned (emulator --auto-dial).
    session = wait_until("the PPP session of the CPE", lambda: r1.session(USERNAME))

    # Staff suspend through the API: the address goes into morosos and the session is kicked.
    answer = api.post(f"/api/network/v1/services/{SUBSCRIPTION}/suspend", json={"reason": "overdue"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "suspended"
    wait_until("the address in morosos", lambda: r1.suspended(address))
    # Kicked: the session it had is gone (the CPE redials 5 s later with a new session id), so
    # compare session ids rather than timing the gap or reading uptimes.
    wait_until(
        "the PPP session kicked",
        lambda: (r1.session(USERNAME) or {}).get("session-id") != session["session-id"],
    )
    body = wait_until("the suspension applied", applied_with(api, "suspended"))
    assert body["suspension_reason"] == "overdue"
    # The secret stays enabled: a suspended subscriber may still reach the payment portal.
    assert (r1.secret(USERNAME) or {}).get("disabled") == "false"

    # Staff reactivate: the entry is gone, no kick needed.
    answer = api.post(f"/api/network/v1/services/{SUBSCRIPTION}/reactivate")
    assert answer.status_code == 200, answer.text
    wait_until("the address out of morosos", lambda: not r1.suspended(address))
    wait_until("the reactivation applied", applied_with(api, "active"))

    # Billing says the account is overdue, then settled: the router follows each event.
    billing_event(publisher, "billing.account.overdue")
    wait_until("the address in morosos after billing.account.overdue", lambda: r1.suspended(address))
    body = wait_until("the overdue suspension applied", applied_with(api, "suspended"))
    assert body["suspension_reason"] == "overdue"

    billing_event(publisher, "billing.account.settled")
    wait_until("the address out of morosos after billing.account.settled", lambda: not r1.suspended(address))
    wait_until("the reconnection applied", applied_with(api, "active"))

    # The other router carries its own demo services and none of client 1's.
    r2 = Router(stack.config.routers[1])
    assert r2.secret(USERNAME) is None
    assert wait_until("demo services on r2", lambda: [s for s in r2.print("/ppp/secret") if s["name"]])
