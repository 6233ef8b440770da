"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked instead."""

from __future__ import annotations

import itertools
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


def test_billing_runs_its_api_its_consumers_and_celery_worker_and_beat_in_compose(
    compose: dict[str, Any],
) -> None:
    from backoffice.billing.consumers import CONSUMERS

    services = compose["services"]
    commands = [" ".join(service.get("command") or []) for service in services.values()]
    for spec in CONSUMERS:
        assert any(command.endswith(f"consume {spec.name}") for command in commands), spec.name
    assert services["billing"]["environment"]["ENLACE_SERVICES"] == "billing"
    # Beat queues the daily billing run; a worker runs it; both on a broker shared by containers.
    assert sum(" beat" in command for command in commands) == 1
    assert any(" worker" in command for command in commands)
    assert services["celery-beat"]["environment"]["ENLACE_CELERY_BROKER_URL"].startswith("redis://")


# --- Kafka: SASL over TLS, one principal per component, ACLs -----------------------------------------


def _acl_grants() -> list[tuple[str, set[str], set[str]]]:
    """(principal, operations, topics) of every ``acl`` line of docker/kafka/acls.sh."""
    script = (ROOT / "docker" / "kafka" / "acls.sh").read_text(encoding="utf-8").replace("\\\n", " ")
    grants = []
    for line in script.splitlines():
        words = line.split()
        if not words or words[0] != "acl":
            continue
        pairs = list(itertools.pairwise(words))
        principal = next(value for flag, value in pairs if flag == "--allow-principal")
        operations = {value for flag, value in pairs if flag == "--operation"}
        topics = {value for flag, value in pairs if flag == "--topic"}
        grants.append((principal, operations, topics))
    return grants


def _writers(topic: str) -> set[str]:
    return {principal for principal, ops, topics in _acl_grants() if "Write" in ops and topic in topics}


def test_every_kafka_listener_authenticates_and_client_listeners_use_tls(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols) == {name.split("://")[0] for name in env["KAFKA_LISTENERS"].split(",")}
    assert protocols["CONTROLLER"] == "SASL_PLAINTEXT"
    assert {protocols["INTERNAL"], protocols["EXTERNAL"]} == {"SASL_SSL"}
    for name in ("INTERNAL", "EXTERNAL", "CONTROLLER"):
        assert "PlainLoginModule" in env[f"KAFKA_LISTENER_NAME_{name}_PLAIN_SASL_JAAS_CONFIG"]


def test_kafka_denies_what_no_acl_grants(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    acls = compose["services"]["kafka-acls"]
    assert acls["restart"] == "no"
    assert compose["services"]["network"]["depends_on"]["kafka-acls"]["condition"] == (
        "service_completed_successfully"
    )


def test_only_the_network_service_writes_commands_and_only_the_netagent_writes_results() -> None:
    assert _writers("enlace.network.commands.v1") == {"User:network"}
    assert _writers("enlace.network.results.v1") == {"User:netagent"}


def test_each_component_logs_in_to_kafka_as_its_own_principal(compose: dict[str, Any]) -> None:
    services = compose["services"]
    principal = {
        name: (service.get("environment") or {}).get("ENLACE_KAFKA_SASL_USERNAME")
        for name, service in services.items()
    }
    for name in ("network", "network-results", "network-billing", "network-clients", "relay-network"):
        assert principal[name] == "network", name
    for name in ("identity", "relay"):
        assert principal[name] == "backoffice", name
    assert principal["portal-consumer"] == "portal"
    assert "network" in services["relay-network"]["command"]
    assert "network" not in services["relay"]["command"][-1].split(",")
    for name in ("identity", "network", "relay", "portal"):
        env = services[name]["environment"]
        assert env["ENLACE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert env["ENLACE_KAFKA_SSL_CAFILE"] == "/etc/kafka/tls/ca.pem", name
    netagent = services["netagent"]["environment"]
    assert netagent["NETAGENT_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert netagent["NETAGENT_KAFKA_SASL_USERNAME"] == "netagent"


def test_kafka_passwords_and_the_router_key_come_from_the_environment() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for name in ("ADMIN", "NETWORK", "NETAGENT", "BACKOFFICE", "PORTAL"):
        assert f"${{KAFKA_{name}_PASSWORD:?" in text, name
    assert "${ENLACE_ROUTER_SECRET_KEY:?" in text
