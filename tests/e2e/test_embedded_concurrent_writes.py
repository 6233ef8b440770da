"""Embedded mode (one SQLite file per service, shared by the API server, the outbox relay and
the network consumers) holds under a burst of concurrent API writes: no request fails, no
process hits "database is locked", and every service ends on its router as its last write says.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import routeros_api

from tests.fixtures.polling import free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO_SUBSCRIPTIONS = (1001, 1002, 1003, 1004, 1005, 1006)
WRITES = 200
WORKERS = 20


@dataclass
class RunningStack:
    backoffice: str
    router_ports: dict[str, int]
    var_dir: Path


@pytest.fixture
def embedded_stack(tmp_path: Path) -> Iterator[RunningStack]:
    """The README's run command (``scripts/devstack.py run``) on free ports and a fresh var dir."""
    portal, backoffice, kafka = free_port(), free_port(), free_port()
    router_ports = [free_port(), free_port()]
    # Nothing of the caller's (test) configuration: the run command's embedded defaults only.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENLACE_", "DJANGO_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "scripts/devstack.py",
            "run",
            "--var-dir",
            str(tmp_path),
            "--portal-port",
            str(portal),
            "--backoffice-port",
            str(backoffice),
            "--kafka-port",
            str(kafka),
            "--router-ports",
            ",".join(map(str, router_ports)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Logs:"):  # the banner's last line
                break
        assert "Enlace is running" in "".join(output), "".join(output)
        yield RunningStack(
            backoffice=f"http://127.0.0.1:{backoffice}",
            router_ports={"r1": router_ports[0], "r2": router_ports[1]},
            var_dir=tmp_path,
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, _ = process.communicate()
    assert process.returncode == 0, "".join(output) + rest


def _poll(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def _morosos(router_port: int) -> set[str]:
    pool = routeros_api.RouterOsApiPool(
        "127.0.0.1", username="admin", password="enlace-demo", port=router_port, plaintext_login=True
    )
    try:
        entries = pool.get_api().get_resource("/ip/firewall/address-list").get(list="morosos")
        return {entry["address"] for entry in entries}
    finally:
        pool.disconnect()


def test_200_concurrent_suspensions_and_reactivations_all_succeed_and_end_on_the_routers(
    embedded_stack: RunningStack,
) -> None:
    credentials = {"email": "noc@enlace.demo", "password": "Enlace-Demo-2026"}
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

    _poll(provisioned, timeout=90, what="the six demo services are provisioned on their routers")

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
        lists = {name: _morosos(port) for name, port in embedded_stack.router_ports.items()}
        return all(
            (service["address"] in lists[service["router"]]) == (expected[s] == "suspended")
            for s, service in current.items()
        )

    _poll(applied_on_the_routers, timeout=120, what="every service's last write is applied on its router")

    # A consumer or the relay retries a failed transaction, so a lock error there would not
    # show in the answers above: it must not have happened at all.
    logs = sorted((embedded_stack.var_dir / "logs").glob("*.log"))
    assert logs, "the stack writes its processes' logs"
    locked = [log.name for log in logs if "database is locked" in log.read_text(errors="replace")]
    assert locked == [], f"'database is locked' in {locked}"
