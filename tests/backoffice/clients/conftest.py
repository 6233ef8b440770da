"""Clients fixtures: plans, clients and subscriptions (factory-boy), a fixed clock, the outbox.

Personas come from tests/backoffice/conftest.py: Carol (billing) and Ada (admin) write; Bob
(agent) and Nora (noc) read; Alice is the subscriber of client 1, Charlie of client 2.
Here client 1 is Alice Andrade's record and client 2 Charlie Cevallos's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import factory
import pytest
import time_machine

from backoffice.clients.models import Client, ClientStatus, Plan, RouterPool, Subscription
from enlace_messaging.django.models import OutboxMessage

NOW = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)


def cedula(first_nine: str) -> str:
    """A cédula with its check digit computed by the modulo 10 rule (coefficients 2,1,2,1...)."""
    total = 0
    for position, char in enumerate(first_nine):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return first_nine + str((10 - total % 10) % 10)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    download = "20M"
    upload = "5M"
    monthly_price = Decimal("25.00")
    tax_rate = Decimal("0.15")
    installation_fee = Decimal("30.00")
    term_months = 12
    created_at = NOW
    updated_at = NOW


class ClientFactory(factory.django.DjangoModelFactory):
    """A person with a valid cédula (Pichincha, 17...)."""

    class Meta:
        model = Client

    name = factory.Faker("name", locale="es_ES")
    identification_type = "cedula"
    identification = factory.Sequence(lambda n: cedula(f"17{n:07d}"))
    email = factory.Sequence(lambda n: f"cliente{n}@example.ec")
    address = "Av. Solano 2-45, Cuenca"
    city = "Cuenca"
    status = ClientStatus.ACTIVE
    created_at = NOW
    updated_at = NOW


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    client = factory.SubFactory(ClientFactory)
    plan = factory.SubFactory(PlanFactory, code="hogar-20")
    router = "torre-norte"
    pppoe_username = factory.Sequence(lambda n: f"cli{n:05d}")
    pppoe_password = "clave-pppoe"
    address = factory.Sequence(lambda n: f"10.20.{n // 250}.{n % 250 + 2}")
    billing_day = 5
    start_date = date(2025, 3, 10)
    created_at = NOW
    updated_at = NOW


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    """Domain messages are read in English here (Spanish is the default language); the API
    tests pick the language per request with Accept-Language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def now() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def pools(db: None) -> list[RouterPool]:
    return [
        RouterPool.objects.create(router="torre-norte", network="10.20.0.0/24"),
        RouterPool.objects.create(router="torre-sur", network="10.21.0.0/29"),
    ]


@pytest.fixture
def hogar(db: None) -> Plan:
    return PlanFactory(
        code="hogar-20", name="Hogar 20", download="20M", upload="5M", monthly_price=Decimal("25.00")
    )


@pytest.fixture
def pyme(db: None) -> Plan:
    return PlanFactory(
        code="pyme-100", name="Pyme 100", download="100M", upload="20M", monthly_price=Decimal("80.00")
    )


@pytest.fixture
def alice_client(db: None) -> Client:
    return ClientFactory(
        id=1, name="Alice Andrade", identification=cedula("010203040"), email="alice@example.ec"
    )


@pytest.fixture
def charlie_client(db: None) -> Client:
    return ClientFactory(
        id=2, name="Charlie Cevallos", identification=cedula("090807060"), email="charlie@example.ec"
    )


@pytest.fixture
def client_factory() -> type[ClientFactory]:
    return ClientFactory


@pytest.fixture
def subscription_factory() -> type[SubscriptionFactory]:
    return SubscriptionFactory


@pytest.fixture
def outbox() -> Callable[..., list[dict[str, Any]]]:
    """The clients outbox's messages as dicts (topic, key, and the envelope), oldest first."""

    def read(*, type: str | None = None) -> list[dict[str, Any]]:
        rows = OutboxMessage.objects.using("clients").order_by("id")
        if type:
            rows = rows.filter(message_type=type)
        return [{"topic": row.topic, "key": row.key, **json.loads(bytes(row.payload))} for row in rows]

    return read


@pytest.fixture
def service_client() -> Callable[..., Any]:
    """A DRF client carrying a client-credentials style token of another service with ``scopes``."""
    from rest_framework.test import APIClient

    from backoffice.identity import tokens

    def make(*scopes: str) -> APIClient:
        claims = tokens.base_claims(subject="client:billing", now=datetime.now(UTC), lifetime=600)
        claims["scope"] = " ".join(scopes)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.sign_claims(claims)}")
        return api

    return make
