"""Flow 1 end to end: a subscriber registered through the clients API is provisioned on the
emulated MikroTik router, and a plan change through the API changes the router's queue.

clients API → outbox → relay → Kafka → network-clients → network outbox → relay → Kafka →
netagent → RouterOS emulator, on the real stack of ``scripts/devstack.py`` (PostgreSQL, Redis,
Tansu). The router is read through the RouterOS API over TCP, as an operator would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.devstack import RouterSpec, Stack
from tests.e2e.test_network_flow import ROUTER_PASSWORD, Router
from tests.fixtures.clients_api import ClientsApi
from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.polling import wait_until
from tests.fixtures.stack import fresh_stack

PG_PREFIX = pg_prefix("enlace_clientsflow_e2e_")
REDIS_URL = redis_url(9)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with fresh_stack(
        tmp_path_factory.mktemp("clients-e2e"),
        pg_prefix=PG_PREFIX,
        redis_url=REDIS_URL,
        routers=[RouterSpec(name="r1", password=ROUTER_PASSWORD)],
    ) as running:
        yield running


def test_a_subscription_created_through_the_clients_api_is_provisioned_and_its_plan_change_reaches_the_queue(
    stack: Stack,
) -> None:
    r1 = Router(stack.config.routers[0])
    with ClientsApi(stack.backoffice_url) as api:
        client = api.client_create(name="Lucía Morales")
        subscription = api.subscription_create(client_id=client["id"], plan="hogar-50", router="r1")
        username, address = subscription["pppoe_username"], subscription["address"]
        assert address.startswith("10.20.0.")  # r1's pool in the demo data

        secret = wait_until("the PPP secret on r1", lambda: r1.secret(username))
        assert secret["password"] == subscription["pppoe_password"]
        assert secret["remote-address"] == address
        assert secret["comment"] == f"enlace:sub={subscription['id']}"
        assert secret["disabled"] == "false"
        queue = wait_until("the simple queue on r1", lambda: r1.queue(f"enlace-{username}"))
        assert queue["target"].split("/")[0] == address
        assert queue["max-limit"] == "10000000/50000000"  # upload/download of hogar-50 (50M/10M)

        changed = api.change_plan(subscription["id"], "pyme-100")
        assert changed["plan"]["code"] == "pyme-100"

        wait_until(
            "the queue at pyme-100's speed (100M/20M)",
            lambda: (r1.queue(f"enlace-{username}") or {}).get("max-limit") == "20000000/100000000",
        )
        assert (r1.secret(username) or {}).get("remote-address") == address
