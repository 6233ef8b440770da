"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_declares_the_whole_system(compose: dict[str, Any]) -> None:
    expected = {"postgres", "redis", "kafka", "identity", "portal", "relay", "network", "netagent"}
    assert expected <= set(compose["services"])


def test_kafka_is_apache_kafka_in_kraft_mode_with_one_node(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if service.get("restart") == "no":
            continue  # one-shot jobs such as migrations
        assert "healthcheck" in service, f"{name} has no healthcheck"
        assert service["healthcheck"]["test"], f"{name} has an empty healthcheck"


def test_http_services_publish_their_ports_and_check_readiness(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "8001:8001" in services["identity"]["ports"]
    assert "8000:8000" in services["portal"]["ports"]
    assert "/readyz" in " ".join(services["identity"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["portal"]["healthcheck"]["test"])


def test_enlace_services_use_postgres_redis_and_kafka_in_production_mode(compose: dict[str, Any]) -> None:
    for name in ("identity", "portal", "relay", "network"):
        env = compose["services"][name]["environment"]
        assert env["ENLACE_ENV"] == "production", name
        assert env["ENLACE_DB_ENGINE"] == "postgres", name
        assert env["ENLACE_REDIS_URL"].startswith("redis://redis:"), name
        assert env["ENLACE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name
    assert compose["services"]["identity"]["environment"]["ENLACE_SERVICES"] == "identity"
    assert compose["services"]["network"]["environment"]["ENLACE_SERVICES"] == "network"


# A variable holding a secret: a key, a password, a token (not a key's directory or prefix).
_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN)|_KEY$")
# Docker Compose's "required" interpolation: the value comes from .env or the shell, and
# compose refuses to start without it.
_REQUIRED_FROM_ENV = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]*\}$")


def test_secrets_are_not_written_into_the_file(compose: dict[str, Any]) -> None:
    secrets: list[tuple[str, str, str]] = []
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        secrets += [(name, var, str(value)) for var, value in environment.items() if _SECRET_NAME.search(var)]
    assert {var for _, var, _ in secrets} >= {"ENLACE_SECRET_KEY", "POSTGRES_PASSWORD", "ENLACE_PG_PASSWORD"}
    written = [(name, var) for name, var, value in secrets if not _REQUIRED_FROM_ENV.match(value)]
    assert written == [], f"secrets written into docker-compose.yml instead of taken from .env: {written}"


def test_services_wait_for_their_dependencies_to_be_healthy(compose: dict[str, Any]) -> None:
    identity = compose["services"]["identity"]
    assert identity["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert identity["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert compose["services"]["portal"]["depends_on"]["identity"]["condition"] == "service_healthy"


def test_every_service_database_is_created_by_postgres_init() -> None:
    sql = (ROOT / "docker" / "postgres-init.sql").read_text(encoding="utf-8")
    for service in ("identity", "clients", "billing", "network", "support", "portal"):
        assert f"CREATE DATABASE enlace_{service};" in sql


def test_every_network_consumer_the_service_declares_runs_in_compose(compose: dict[str, Any]) -> None:
    from backoffice.network.consumers import CONSUMERS

    commands = [" ".join(service.get("command") or []) for service in compose["services"].values()]
    for spec in CONSUMERS:
        assert any(command.endswith(f"consume {spec.name}") for command in commands), spec.name
