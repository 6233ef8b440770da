"""``/readyz`` names the dependency that is down, and tells an anonymous caller nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings

from backoffice.databases import SERVICES, service_db
from tests.fixtures.polling import free_port

ALL_ALIASES = [service_db(s) for s in SERVICES]


@pytest.fixture
def network_database_down() -> Iterator[int]:
    """The network service's database at a port where nothing listens; yields that port."""
    network = connections["network"]
    original = dict(network.settings_dict)
    port = free_port()
    network.close()
    network.settings_dict["PORT"] = port
    try:
        yield port
    finally:
        network.close()
        network.settings_dict.clear()
        network.settings_dict.update(original)


@pytest.mark.django_db(databases=ALL_ALIASES, transaction=True)
def test_it_names_what_is_down_without_driver_errors_hosts_or_ports(
    client: Client, settings: Any, network_database_down: int
) -> None:
    kafka_port, redis_port = free_port(), free_port()
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{kafka_port}"
    redis_down = {
        **settings.CACHES,
        "tokens": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{redis_port}/0",
        },
    }

    # Only around the request: the suite's fixtures clear the real tokens cache afterwards.
    with override_settings(CACHES=redis_down):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not-ready"
    assert sorted(body["down"]) == ["database:network", "kafka", "redis"]
    assert body["checks"]["database:network"] == "down"
    assert body["checks"]["database:identity"] == "ok"
    assert body["checks"]["kafka"] == "down"
    assert body["checks"]["redis"] == "down"
    text = response.content.decode()
    for secret in ("127.0.0.1", str(network_database_down), str(kafka_port), str(redis_port)):
        assert secret not in text
    for driver_words in ("Error", "refused", "connection", "psycopg", "OperationalError"):
        assert driver_words.lower() not in text.lower()
