"""Writes of the clients service: what they store and the events they publish."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from backoffice.access.errors import Conflict
from backoffice.clients import services
from backoffice.clients.models import ClientStatus, PlanPrice, Subscription
from enlace_messaging.catalog import CLIENTS_EVENTS
from tests.backoffice.clients.conftest import cedula

pytestmark = pytest.mark.django_db(databases=["default", "clients"])


def test_registering_a_client_publishes_client_created_keyed_by_client(now, outbox):
    client = services.client_create(
        name="María Quispe",
        identification_type="cedula",
        identification=cedula("171003406"),
        email="Maria@Example.ec",
        language="es",
        now=now,
    )

    [event] = outbox(type="clients.client.created")
    assert event["topic"] == CLIENTS_EVENTS
    assert event["key"] == str(client.pk)
    assert event["data"]["client_id"] == client.pk
    assert event["data"]["email"] == "maria@example.ec"
    assert event["data"]["status"] == "prospect"


def test_a_duplicate_identification_names_the_client_that_has_it(alice_client, now):
    with pytest.raises(ValidationError) as refused:
        services.client_create(
            name="Otra Persona",
            identification_type="cedula",
            identification=alice_client.identification,
            now=now,
        )

    [message] = refused.value.message_dict["identification"]
    assert f"client {alice_client.pk}" in message and "Alice Andrade" in message


def test_a_bad_cedula_is_refused_on_its_field(now, outbox):
    with pytest.raises(ValidationError) as refused:
        services.client_create(name="X", identification_type="cedula", identification="1710034064", now=now)

    assert "identification" in refused.value.message_dict
    assert outbox() == []


def test_a_company_needs_a_company_ruc(now):
    with pytest.raises(ValidationError, match="company RUC"):
        services.client_create(
            kind="company",
            name="Tienda",
            identification_type="ruc",
            identification=cedula("171003406") + "001",
            now=now,
        )
    company = services.client_create(
        kind="company", name="Corporación", identification_type="ruc", identification="1790011674001", now=now
    )
    assert company.kind == "company"


def test_a_subscription_takes_the_next_free_address_and_a_generated_user(
    alice_client, hogar, pools, now, outbox
):
    first = services.subscription_create(
        client=alice_client,
        plan=hogar,
        router="torre-norte",
        billing_day=5,
        start_date=date(2025, 3, 10),
        now=now,
    )
    second = services.subscription_create(
        client=alice_client,
        plan=hogar,
        router="torre-norte",
        billing_day=5,
        start_date=date(2025, 3, 10),
        now=now,
    )

    # 10.20.0.1 is the router's own gateway address.
    assert (first.address, second.address) == ("10.20.0.2", "10.20.0.3")
    assert first.pppoe_username == "cli00001" and second.pppoe_username == "cli00001-2"
    assert len(first.pppoe_password) >= 12
    created = outbox(type="clients.subscription.created")
    assert [e["data"]["subscription_id"] for e in created] == [first.pk, second.pk]
    data = created[0]["data"]
    assert data["plan"] == {
        "code": "hogar-20",
        "name": "Hogar 20",
        "download": "20M",
        "upload": "5M",
        "monthly_price": "25.00",
        "tax_rate": "0.15",
        "installation_fee": "30.00",
    }
    assert (data["billing_day"], data["start_date"], data["router"]) == (5, "2025-03-10", "torre-norte")
    assert data["pppoe_password"] == first.pppoe_password


def test_a_prospect_becomes_active_with_its_first_subscription(client_factory, hogar, pools, now, outbox):
    prospect = client_factory(status=ClientStatus.PROSPECT)

    services.subscription_create(
        client=prospect,
        plan=hogar,
        router="torre-norte",
        billing_day=1,
        start_date=date(2025, 3, 10),
        now=now,
    )

    prospect.refresh_from_db()
    assert prospect.status == ClientStatus.ACTIVE
    assert outbox(type="clients.client.updated")[0]["data"]["status"] == "active"


def test_a_taken_user_name_or_address_is_refused_on_its_field(
    alice_client, charlie_client, hogar, pools, now
):
    services.subscription_create(
        client=alice_client,
        plan=hogar,
        router="torre-norte",
        billing_day=5,
        start_date=date(2025, 3, 10),
        pppoe_username="alice",
        address="10.20.0.50",
        now=now,
    )
    with pytest.raises(ValidationError) as user_taken:
        services.subscription_create(
            client=charlie_client,
            plan=hogar,
            router="torre-norte",
            billing_day=5,
            start_date=date(2025, 3, 10),
            pppoe_username="alice",
            now=now,
        )
    with pytest.raises(ValidationError) as address_taken:
        services.subscription_create(
            client=charlie_client,
            plan=hogar,
            router="torre-norte",
            billing_day=5,
            start_date=date(2025, 3, 10),
            address="10.20.0.50",
            now=now,
        )

    assert "pppoe_username" in user_taken.value.message_dict
    assert "address" in address_taken.value.message_dict


def test_the_same_user_name_is_fine_on_another_router(alice_client, charlie_client, hogar, pools, now):
    for client, router in ((alice_client, "torre-norte"), (charlie_client, "torre-sur")):
        services.subscription_create(
            client=client,
            plan=hogar,
            router=router,
            billing_day=5,
            start_date=date(2025, 3, 10),
            pppoe_username="casa",
            now=now,
        )
    assert Subscription.objects.filter(pppoe_username="casa").count() == 2


@pytest.mark.parametrize("day", [0, 29, 31])
def test_the_billing_day_is_between_1_and_28(alice_client, hogar, pools, now, day):
    with pytest.raises(ValidationError, match="billing day"):
        services.subscription_create(
            client=alice_client,
            plan=hogar,
            router="torre-norte",
            billing_day=day,
            start_date=date(2025, 3, 10),
            now=now,
        )


def test_an_unknown_router_is_refused(alice_client, hogar, pools, now):
    with pytest.raises(ValidationError) as refused:
        services.subscription_create(
            client=alice_client,
            plan=hogar,
            router="torre-este",
            billing_day=5,
            start_date=date(2025, 3, 10),
            now=now,
        )
    assert "router" in refused.value.message_dict


def test_an_exhausted_pool_says_so(alice_client, hogar, pools, now):
    # 10.21.0.0/29: hosts .1 (gateway) to .6.
    for _ in range(5):
        services.subscription_create(
            client=alice_client,
            plan=hogar,
            router="torre-sur",
            billing_day=5,
            start_date=date(2025, 3, 10),
            now=now,
        )
    with pytest.raises(Conflict, match="exhausted"):
        services.subscription_create(
            client=alice_client,
            plan=hogar,
            router="torre-sur",
            billing_day=5,
            start_date=date(2025, 3, 10),
            now=now,
        )


def test_a_plan_change_publishes_the_new_plan_and_its_effective_date(
    subscription_factory, alice_client, hogar, pyme, now, outbox
):
    subscription = subscription_factory(client=alice_client, plan=hogar)

    services.subscription_change_plan(
        subscription=subscription, plan=pyme, now=now, effective_date=date(2025, 3, 15)
    )

    [event] = outbox(type="clients.subscription.plan_changed")
    assert event["data"]["plan"]["code"] == "pyme-100"
    assert event["data"]["plan"]["monthly_price"] == "80.00"
    assert event["data"]["effective_date"] == "2025-03-15"
    assert subscription.plan_changes.get().old_plan == hogar


def test_changing_to_the_same_plan_publishes_nothing(subscription_factory, hogar, now, outbox):
    subscription = subscription_factory(plan=hogar)
    services.subscription_change_plan(subscription=subscription, plan=hogar, now=now)
    assert outbox() == []


def test_a_move_takes_an_address_from_the_new_routers_pool(subscription_factory, pools, now, outbox):
    subscription = subscription_factory(router="torre-norte", address="10.20.0.9")

    services.subscription_move(subscription=subscription, router="torre-sur", now=now)

    [event] = outbox(type="clients.subscription.moved")
    assert event["data"]["router"] == "torre-sur"
    assert event["data"]["address"] == "10.21.0.2"


def test_cancelling_frees_the_user_name_and_is_idempotent(
    subscription_factory, alice_client, hogar, pools, now, outbox
):
    subscription = subscription_factory(client=alice_client, router="torre-norte", pppoe_username="alice")

    services.subscription_cancel(subscription=subscription, now=now, effective_date=date(2025, 3, 31))
    services.subscription_cancel(subscription=subscription, now=now)
    again = services.subscription_create(
        client=alice_client,
        plan=hogar,
        router="torre-norte",
        billing_day=5,
        start_date=date(2025, 4, 1),
        pppoe_username="alice",
        now=now,
    )

    [event] = outbox(type="clients.subscription.cancelled")
    assert event["data"]["effective_date"] == "2025-03-31"
    assert again.pppoe_username == "alice"
    with pytest.raises(Conflict):
        services.subscription_change_plan(subscription=subscription, plan=hogar, now=now)


def test_a_new_price_reaches_subscriptions_from_their_next_billing_date(
    subscription_factory, hogar, now, outbox
):
    # Billing day 5, today 10 March: the period that began on 5 March keeps its price.
    subscription = subscription_factory(plan=hogar, billing_day=5)
    services.plan_create(
        code="basico", name="Básico", download="10M", upload="2M", monthly_price=Decimal("15"), now=now
    )

    services.plan_update(plan=hogar, monthly_price=Decimal("27.50"), now=now)

    [event] = outbox(type="clients.subscription.plan_changed")
    assert event["data"]["subscription_id"] == subscription.pk
    assert event["data"]["plan"]["monthly_price"] == "27.50"
    assert event["data"]["effective_date"] == "2025-04-05"
    prices = list(PlanPrice.objects.filter(plan=hogar).order_by("effective_from"))
    assert [p.monthly_price for p in prices] == [Decimal("27.50")]  # the factory's plan had no history
    assert services.plan_price_on(plan=hogar, day=date(2025, 3, 10)).monthly_price == Decimal("27.50")


def test_price_history_stays_true(now):
    plan = services.plan_create(
        code="fibra", name="Fibra", download="50M", upload="10M", monthly_price=Decimal("30"), now=now
    )

    services.plan_update(
        plan=plan, monthly_price=Decimal("35"), price_effective_from=date(2025, 5, 1), now=now
    )

    assert services.plan_price_on(plan=plan, day=date(2025, 4, 30)).monthly_price == Decimal("30.00")
    assert services.plan_price_on(plan=plan, day=date(2025, 5, 1)).monthly_price == Decimal("35.00")


def test_next_billing_date():
    assert services.next_billing_date(5, date(2025, 3, 5)) == date(2025, 3, 5)
    assert services.next_billing_date(5, date(2025, 3, 6)) == date(2025, 4, 5)
    assert services.next_billing_date(28, date(2025, 12, 29)) == date(2026, 1, 28)
