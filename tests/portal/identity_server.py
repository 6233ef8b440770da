"""A real back-office (identity, clients and network under Daphne) for the portal's tests.

``network_demo`` adds the demo data the way the running system gets it: routers registered with
the network service, clients, plans and subscriptions created by the clients service, and a
Tansu broker, the outbox relay, the ``network-clients`` consumer and a Celery worker (contract
PDFs) so that the network service provisions the subscriptions from the clients' events.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.polling import free_port

ROOT = Path(__file__).resolve().parents[2]
PG_PREFIX = pg_prefix("enlace_ptltest_")
ALIASES = ("default", "clients", "billing", "network", "support")
SERVICES = ("identity", "clients", "billing", "network", "support")
DEMO_PASSWORD = "Enlace-Demo-2026"
# No router needs to listen: the network service's commands to it are published and never applied.
DEMO_ROUTERS = '[{"name": "r1", "port": 8728, "username": "admin", "password": "x"}]'


@dataclass
class IdentityServer:
    url: str
    process: subprocess.Popen[bytes]
    # The environment of its management commands (same databases).
    env: dict[str, str]


def _create_databases() -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        for service in SERVICES:
            name = f"{PG_PREFIX}{service}"
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the identity server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@pytest.fixture(scope="session", name="identity_server")
def identity_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityServer]:
    import redis

    redis.Redis.from_url(redis_url(4)).flushdb()  # throttles left by earlier runs
    _create_databases()
    var_dir = tmp_path_factory.mktemp("identity-var")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_identity_server",
        "ENLACE_DB_ENGINE": "postgres",
        "ENLACE_PG_DB_PREFIX": PG_PREFIX,
        "ENLACE_REDIS_URL": redis_url(4),
        "ENLACE_VAR_DIR": str(var_dir),
        # Contract renders queue on the filesystem broker under the var dir (no server needed).
        "ENLACE_CELERY_BROKER_URL": "filesystem://",
        "PYTHONPATH": str(ROOT),
    }
    manage = [sys.executable, "-m", "backoffice"]
    for alias in ALIASES:
        subprocess.run(
            [*manage, "migrate", "--database", alias, "--no-input", "-v0"], env=env, check=True, cwd=ROOT
        )
    subprocess.run([*manage, "seed_identity_demo"], env=env, check=True, cwd=ROOT, capture_output=True)
    port = free_port()
    log = open(var_dir / "identity.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "backoffice.asgi:application"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url + "/healthz", process)
        yield IdentityServer(url=url, process=process, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(name="identity")
def identity_fixture(identity_server: IdentityServer, settings: Any) -> IdentityServer:
    """The portal under test talks to the real identity server (and its network and clients services)."""
    settings.ENLACE_IDENTITY_URL = identity_server.url
    settings.ENLACE_NETWORK_URL = identity_server.url
    settings.ENLACE_CLIENTS_URL = identity_server.url
    return identity_server


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session", name="network_demo")
def network_demo_fixture(identity_server: IdentityServer) -> Iterator[IdentityServer]:
    """The server's clients service holds the demo clients 1-6 and subscriptions 1001-1006, and
    its network service has provisioned them from the clients service's events."""
    from scripts.devstack import DEMO_SUBSCRIPTIONS, wait_for_network_services
    from tests.fixtures.kafka import TansuBroker

    broker = TansuBroker()
    broker.start()
    env = {**identity_server.env, "ENLACE_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap}
    manage = [sys.executable, "-m", "backoffice"]
    for seed in (["seed_network_demo", "--routers", DEMO_ROUTERS], ["seed_clients_demo", "--routers", "r1"]):
        subprocess.run([*manage, *seed], env=env, check=True, cwd=ROOT, capture_output=True)
    var_dir = Path(env["ENLACE_VAR_DIR"])
    workers: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for name, args in (
            ("relay", [*manage, "relay"]),
            ("network-clients", [*manage, "consume", "network-clients"]),
            ("celery-worker", [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "-c", "1"]),
        ):
            log = open(var_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed below)
            logs.append(log)
            workers.append(subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        wait_for_network_services(identity_server.url, DEMO_SUBSCRIPTIONS, timeout=120)
        yield identity_server
    finally:
        for process in reversed(workers):
            _stop(process)
        for log in logs:
            log.close()
        broker.stop()
