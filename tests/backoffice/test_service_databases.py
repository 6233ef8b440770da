"""Each back-office service keeps its tables in its own database, and can run on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.apps import apps
from django.db import connections
from django.test import Client

from backoffice.databases import SERVICES, service_db
from tests.fixtures.polling import free_port

ROOT = Path(__file__).resolve().parents[2]
ALL_ALIASES = [service_db(s) for s in SERVICES]


def _tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cursor:
        return set(connections[alias].introspection.table_names(cursor))


@pytest.mark.django_db(databases=ALL_ALIASES)
def test_each_services_tables_exist_only_in_its_own_database() -> None:
    tables = {alias: _tables(alias) for alias in ALL_ALIASES}
    checked = 0
    for service in SERVICES:
        own = service_db(service)
        for model in apps.get_app_config(service).get_models():
            table = model._meta.db_table
            assert table in tables[own], f"{table} missing from {own}"
            for alias in ALL_ALIASES:
                if alias != own:
                    assert table not in tables[alias], f"{service}'s {table} leaked into {alias}"
            checked += 1
    assert checked >= len(SERVICES) - 2  # the skeleton services may have no table yet


@pytest.mark.django_db(databases=ALL_ALIASES)
def test_every_service_database_has_its_own_outbox_and_inbox() -> None:
    for alias in ALL_ALIASES:
        assert {"messaging_outboxmessage", "messaging_inboxmessage"} <= _tables(alias)


@pytest.mark.django_db(databases=ALL_ALIASES)
def test_service_databases_are_separate_postgresql_databases() -> None:
    names = {connections[alias].settings_dict["NAME"] for alias in ALL_ALIASES}
    assert len(names) == len(ALL_ALIASES)
    for alias in ALL_ALIASES:
        assert connections[alias].vendor == "postgresql"


def _start_backoffice(tmp_path: Path, services: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "ENLACE_SERVICES": services,
        "ENLACE_DB_ENGINE": "sqlite",
        "ENLACE_VAR_DIR": str(tmp_path),
        "ENLACE_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",  # nothing listens there
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("ENLACE_REDIS_URL", None)
    for service in services.split(","):
        subprocess.run(
            [sys.executable, "-m", "backoffice", "migrate", "--database", service_db(service), "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "backoffice.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the back-office did not start")


@pytest.fixture(scope="module")
def support_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = _start_backoffice(tmp_path_factory.mktemp("support-alone"), "support")
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_a_service_run_alone_serves_only_its_own_api(support_alone: str) -> None:
    health = httpx.get(support_alone + "/healthz").json()
    assert health == {"status": "ok", "services": ["support"]}
    assert httpx.get(support_alone + "/api/support/v1/schema/").status_code == 200
    assert httpx.get(support_alone + "/api/identity/v1/schema/").status_code == 404
    assert httpx.get(support_alone + "/api/network/v1/schema/").status_code == 404


def test_readiness_fails_with_the_reason_when_the_broker_is_down(support_alone: str) -> None:
    response = httpx.get(support_alone + "/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "not-ready"
    assert body["checks"]["database:support"] == "ok"
    assert body["checks"]["kafka"] != "ok"


@pytest.mark.django_db(databases=ALL_ALIASES)
def test_readiness_is_ok_when_databases_redis_and_broker_answer(
    client: Client, kafka_broker, settings
) -> None:
    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_broker.bootstrap
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert set(response.json()["checks"]) >= {f"database:{s}" for s in SERVICES} | {"kafka", "redis"}


def test_each_service_publishes_its_own_openapi_schema(client: Client) -> None:
    for service in SERVICES:
        response = client.get(f"/api/{service}/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200, service
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        assert all(path.startswith(f"/api/{service}/v1/") for path in schema["paths"]), service
        assert client.get(f"/api/{service}/v1/docs/").status_code == 200
