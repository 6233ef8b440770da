"""Billing fixtures: the clients service's events as billing receives them, factories, a fixed
clock, the outbox as data.

Personas come from tests/backoffice/conftest.py: Carol (billing), Ada (admin), Bob (agent),
Alice (subscriber, client 1), Charlie (subscriber, client 2). Alice's subscription 501 is on
"Hogar 20" (25.00 + 15 % IVA), billed on the 1st.
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

from backoffice.billing import invoicing, services
from backoffice.billing.consumers import CONSUMERS
from backoffice.billing.models import BillingAccount, BillingSubscription, Invoice, PlanSegment
from enlace_messaging.django.inbox import DjangoInbox
from enlace_messaging.django.models import OutboxMessage
from enlace_messaging.envelope import Envelope

NOW = datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
MARCH = date(2025, 3, 1)

HOGAR_20 = {
    "code": "hogar-20",
    "download": "20M",
    "upload": "5M",
    "name": "Hogar 20",
    "monthly_price": "25.00",
    "tax_rate": "0.15",
    "installation_fee": "0.00",
}
HOGAR_50 = {**HOGAR_20, "code": "hogar-50", "name": "Hogar 50", "download": "50M", "monthly_price": "35.00"}


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAccount
        django_get_or_create = ("client_id",)

    client_id = factory.Sequence(lambda n: 1000 + n)
    name = factory.Sequence(lambda n: f"Cliente {n}")
    identification_type = "cedula"
    identification = factory.Sequence(lambda n: f"{100000000 + n:010d}")
    billing_email = factory.Sequence(lambda n: f"cliente{n}@example.ec")
    language = "es"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A billed subscription on Hogar 20 since 2025-01-01, billed on the 1st (with its account)."""

    class Meta:
        model = BillingSubscription
        skip_postgeneration_save = True

    subscription_id = factory.Sequence(lambda n: 5000 + n)
    client_id = factory.LazyAttribute(lambda o: AccountFactory().client_id)
    billing_day = 1
    start_date = date(2025, 1, 1)
    segment = factory.RelatedFactory(
        "tests.backoffice.billing.conftest.SegmentFactory", factory_related_name="subscription"
    )


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanSegment

    effective_from = factory.LazyAttribute(lambda o: o.subscription.start_date)
    plan_code = "hogar-20"
    plan_name = "Hogar 20"
    monthly_price = Decimal("25.00")
    tax_rate = Decimal("0.15")


def client_event(type: str = "clients.client.created", **overrides: Any) -> Envelope:
    data = {
        "client_id": 1,
        "kind": "person",
        "name": "Alice Andrade",
        "identification_type": "cedula",
        "identification": "0102030405",
        "email": "alice@example.ec",
        "billing_email": "facturas.alice@example.ec",
        "language": "es",
        "status": "active",
    }
    data.update(overrides)
    return Envelope.new(type=type, data=data, source="clients")


def subscription_created(**overrides: Any) -> Envelope:
    data = {
        "subscription_id": 501,
        "client_id": 1,
        "router": "torre-norte",
        "pppoe_username": "alice",
        "pppoe_password": "x",
        "plan": HOGAR_20,
        "billing_day": 1,
        "start_date": "2025-01-01",
    }
    data.update(overrides)
    return Envelope.new(type="clients.subscription.created", data=data, source="clients")


def plan_changed(*, plan: dict[str, str], effective_date: str, subscription_id: int = 501) -> Envelope:
    return Envelope.new(
        type="clients.subscription.plan_changed",
        data={
            "subscription_id": subscription_id,
            "client_id": 1,
            "plan": plan,
            "effective_date": effective_date,
        },
        source="clients",
    )


def cancelled(*, effective_date: str, subscription_id: int = 501) -> Envelope:
    return Envelope.new(
        type="clients.subscription.cancelled",
        data={"subscription_id": subscription_id, "client_id": 1, "effective_date": effective_date},
        source="clients",
    )


@pytest.fixture
def now() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def deliver() -> Callable[[Envelope], bool]:
    """Delivers ``envelope`` to billing's clients consumer as the runner does (inbox + handler)."""
    spec = {spec.name: spec for spec in CONSUMERS}["billing-clients"]

    def run(envelope: Envelope) -> bool:
        return DjangoInbox(spec.using, spec.group_id).process(envelope, spec.dispatch)

    return run


@pytest.fixture
def alice_subscribed(db: None, deliver: Callable[[Envelope], bool], now: datetime) -> BillingSubscription:
    """Alice (client 1) with subscription 501 on Hogar 20 since 2025-01-01, billed on the 1st."""
    deliver(client_event())
    deliver(subscription_created())
    return BillingSubscription.objects.get(subscription_id=501)


@pytest.fixture
def run_march(now: datetime) -> Callable[..., invoicing.RunResult]:
    def run(**kwargs: Any) -> invoicing.RunResult:
        return invoicing.billing_run(month=MARCH, today=MARCH, now=now, **kwargs)

    return run


@pytest.fixture
def invoice_of() -> Callable[[int], Invoice]:
    def get(subscription_id: int, period_start: date = MARCH) -> Invoice:
        return Invoice.objects.get(subscription__subscription_id=subscription_id, period_start=period_start)

    return get


@pytest.fixture
def outbox() -> Callable[..., list[dict[str, Any]]]:
    """The billing outbox's messages as dicts (topic, key, and the envelope), oldest first."""

    def read(*, type: str | None = None) -> list[dict[str, Any]]:
        rows = OutboxMessage.objects.using("billing").order_by("id")
        if type:
            rows = rows.filter(message_type=type)
        return [{"topic": row.topic, "key": row.key, **json.loads(bytes(row.payload))} for row in rows]

    return read


@pytest.fixture
def subscription_factory() -> type[SubscriptionFactory]:
    return SubscriptionFactory


__all__ = ["services"]


@pytest.fixture
def service_client() -> Callable[..., Any]:
    """A DRF client carrying a client-credentials token for the chatbot, holding ``scopes``."""
    from rest_framework.test import APIClient

    from backoffice.identity import tokens

    def make(*scopes: str) -> APIClient:
        claims = tokens.base_claims(subject="client:chatbot", now=datetime.now(UTC), lifetime=600)
        claims["scope"] = " ".join(scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.sign_claims(claims)}")
        return client

    return make
