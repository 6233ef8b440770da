"""Network fixtures: routers and services (factory-boy), a fixed clock, the outbox as data.

Personas come from tests/backoffice/conftest.py: Nora (noc), Ada (admin), Alice (subscriber,
client 1), Charlie (subscriber, client 2), Bob (agent, not network staff).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import factory
import pytest
import time_machine
from rest_framework.test import APIClient

from backoffice.messaging.envelope import Envelope
from backoffice.messaging.inbox import DjangoInbox
from backoffice.messaging.models import OutboxMessage
from backoffice.network.consumers import CONSUMERS
from backoffice.network.models import Router, Service, ServiceStatus
from backoffice.network.secrets import router_password_seal

NOW = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)


class RouterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Router

    name = factory.Sequence(lambda n: f"torre-{n}")
    host = factory.Sequence(lambda n: f"10.0.{n}.1")
    api_port = 8728
    username = "enlace"
    password = factory.LazyFunction(lambda: router_password_seal("s3cret-router-pass"))
    site = "Cuenca"
    address_pool = factory.Sequence(lambda n: f"10.{20 + n}.0.0/24")


class ServiceFactory(factory.django.DjangoModelFactory):
    """A service as the database holds it (no command sent): for arranging a test's state."""

    class Meta:
        model = Service

    subscription_id = factory.Sequence(lambda n: 100 + n)
    client_id = 1
    router = factory.SubFactory(RouterFactory)
    pppoe_username = factory.Sequence(lambda n: f"cliente{n}")
    pppoe_password = "pppoe-pass"
    address = factory.Sequence(lambda n: f"10.99.{n // 250}.{n % 250 + 2}")
    plan_code = "hogar-20"
    download = "20M"
    upload = "5M"
    status = ServiceStatus.ACTIVE
    revision = 1
    applied_revision = 1


@pytest.fixture
def now() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def router(db: None) -> Router:
    return RouterFactory(name="torre-norte", address_pool="10.20.0.0/24")


@pytest.fixture
def service_factory() -> type[ServiceFactory]:
    return ServiceFactory


@pytest.fixture
def router_factory() -> type[RouterFactory]:
    return RouterFactory


@pytest.fixture
def outbox() -> Callable[..., list[dict[str, Any]]]:
    """The network outbox's messages as dicts (topic, key, and the envelope), oldest first."""

    def read(*, topic: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        rows = OutboxMessage.objects.using("network").order_by("id")
        if topic:
            rows = rows.filter(topic=topic)
        if type:
            rows = rows.filter(message_type=type)
        return [{"topic": row.topic, "key": row.key, **json.loads(bytes(row.payload))} for row in rows]

    return read


@pytest.fixture(params=["alone", "in a run"])
def deliver(request: pytest.FixtureRequest) -> Callable[[str, Envelope], bool]:
    """Delivers ``envelope`` to our consumer ``name`` the way the runner does (inbox + handler).

    Each test runs twice: as a record applied alone (``inbox.process`` + ``dispatch``) and as
    a run of one applied together (``inbox.process_many`` + ``dispatch_many``), the runner's
    two paths, which must give the same result.
    """
    specs = {spec.name: spec for spec in CONSUMERS}

    def run(name: str, envelope: Envelope) -> bool:
        spec = specs[name]
        inbox = DjangoInbox(spec.using, spec.group_id)
        if request.param == "alone":
            return inbox.process(envelope, spec.dispatch)
        with inbox.batch():
            return inbox.process_many([envelope], spec.dispatch_many) == 1

    return run


@pytest.fixture
def deliver_run() -> Callable[[str, list[Envelope]], int]:
    """Delivers ``envelopes`` to our consumer ``name`` together, as the runner does with the
    records of one poll; returns how many were new."""
    specs = {spec.name: spec for spec in CONSUMERS}

    def run(name: str, envelopes: list[Envelope]) -> int:
        spec = specs[name]
        inbox = DjangoInbox(spec.using, spec.group_id)
        with inbox.batch():
            return inbox.process_many(envelopes, spec.dispatch_many)

    return run


@pytest.fixture
def service_token() -> Callable[..., str]:
    """A client-credentials style access token for another service, holding ``scopes``."""

    def make(*scopes: str) -> str:
        from backoffice.identity import tokens

        claims = tokens.base_claims(subject="client:chatbot", now=datetime.now(UTC), lifetime=600)
        claims["scope"] = " ".join(scopes)
        return tokens.sign_claims(claims)

    return make


@pytest.fixture
def service_client(service_token: Callable[..., str]) -> Callable[..., APIClient]:
    def make(*scopes: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token(*scopes)}")
        return client

    return make
