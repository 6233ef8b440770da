"""Embedded mode (one SQLite file per service, shared by the API server, the outbox relay and
the network consumers) holds under a burst of concurrent API writes: no request fails, no
process hits "database is locked", and every service ends on its router as its last write says.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.fixtures.polling import wait_until
from tests.fixtures.run_command import DEMO_PASSWORD, RunningSystem, morosos, run_command

DEMO_SUBSCRIPTIONS = (1001, 1002, 1003, 1004, 1005, 1006)
WRITES = 200
WORKERS = 20


@pytest.fixture
def embedded_stack(tmp_path: Path) -> Iterator[RunningSystem]:
    with run_command(tmp_path) as system:
        yield system


def test_200_concurrent_suspensions_and_reactivations_all_succeed_and_end_on_the_routers(
    embedded_stack: RunningSystem,
) -> None:
    credentials = {"email": "noc@enlace.demo", "password": DEMO_PASSWORD}
    token = httpx.post(embedded_stack.backoffice + "/api/identity/v1/token", json=credentials, timeout=30)
    assert token.status_code == 200, token.text
    noc = httpx.Client(
        base_url=embedded_stack.backoffice + "/api/network/v1",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        # Every worker keeps its connection; a write waits for the database as long as it must.
        limits=httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS),
        timeout=60,
    )

    def provisioned() -> bool:
        return all(noc.get(f"/services/{s}/").json()["in_sync"] for s in DEMO_SUBSCRIPTIONS)

    wait_until(
        "the six demo services are provisioned on their routers", provisioned, timeout=90, interval=0.5
    )

    # A fixed mix, so every run sends the same writes (their interleaving is the server's).
    rng = random.Random(7)
    writes = [(rng.choice(DEMO_SUBSCRIPTIONS), rng.choice(("suspend", "reactivate"))) for _ in range(WRITES)]

    def send(write: tuple[int, str]) -> tuple[int, str, httpx.Response]:
        subscription, action = write
        body = {"reason": "overdue"} if action == "suspend" else None
        return subscription, action, noc.post(f"/services/{subscription}/{action}", json=body)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = list(pool.map(send, writes))

    failures = [f"{s} {a}: {r.status_code} {r.text[:300]}" for s, a, r in answers if r.status_code != 200]
    assert failures == [], "\n".join(failures)

    # Writes to one service are serialised by its row lock: the answer with the highest
    # revision came from the last write that changed it (or a no-op after it), so it holds the
    # final state, and every answer at that revision must agree with it.
    expected: dict[int, str] = {}
    for subscription in DEMO_SUBSCRIPTIONS:
        mine = [r.json() for s, _, r in answers if s == subscription]
        assert mine, f"the fixed mix writes to {subscription}"
        last = max(body["revision"] for body in mine)
        final = {body["status"] for body in mine if body["revision"] == last}
        assert len(final) == 1, f"{subscription}: answers at revision {last} disagree: {final}"
        expected[subscription] = final.pop()
        assert noc.get(f"/services/{subscription}/").json()["status"] == expected[subscription]

    def applied_on_the_routers() -> bool:
        current = {s: noc.get(f"/services/{s}/").json() for s in DEMO_SUBSCRIPTIONS}
        if not all(service["in_sync"] for service in current.values()):
            return False
        lists = {name: morosos(port) for name, port in embedded_stack.router_ports.items()}
        return all(
            (service["address"] in lists[service["router"]]) == (expected[s] == "suspended")
            for s, service in current.items()
        )

    wait_until(
        "every service's last write is applied on its router",
        applied_on_the_routers,
        timeout=120,
        interval=0.5,
    )

    # A consumer or the relay retries a failed transaction, so a lock error there would not
    # show in the answers above: it must not have happened at all.
    logs = sorted((embedded_stack.var_dir / "logs").glob("*.log"))
    assert logs, "the stack writes its processes' logs"
    locked = [log.name for log in logs if "database is locked" in log.read_text(errors="replace")]
    assert locked == [], f"'database is locked' in {locked}"
