"""Billing's copy of the clients service's clients and subscriptions, fed as the runner does."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.billing.models import BillingAccount, BillingSubscription, PendingCharge
from enlace_messaging.errors import PermanentFailure
from tests.backoffice.billing.conftest import (
    HOGAR_20,
    HOGAR_50,
    cancelled,
    client_event,
    plan_changed,
    subscription_created,
)

pytestmark = pytest.mark.django_db(databases=["default", "billing"])


def test_a_new_client_gets_a_billing_account_with_their_billing_address(deliver):
    deliver(client_event())

    account = BillingAccount.objects.get(client_id=1)
    assert (account.name, account.identification, account.billing_email, account.language) == (
        "Alice Andrade",
        "0102030405",
        "facturas.alice@example.ec",
        "es",
    )


def test_an_updated_client_changes_the_account_and_a_redelivery_changes_nothing(deliver):
    deliver(client_event())
    update = client_event(
        "clients.client.updated", name="Alice Andrade Vega", language="en", billing_email=None
    )

    assert deliver(update) is True
    assert deliver(update) is False

    account = BillingAccount.objects.get(client_id=1)
    assert (account.name, account.language, account.billing_email) == (
        "Alice Andrade Vega",
        "en",
        "alice@example.ec",
    )


def test_a_subscription_is_billed_from_its_start_on_its_plan_with_the_installation_pending(deliver, now):
    deliver(subscription_created(plan={**HOGAR_20, "installation_fee": "30.00"}, billing_day=5))

    subscription = BillingSubscription.objects.get(subscription_id=501)
    assert (subscription.client_id, subscription.billing_day, str(subscription.start_date)) == (
        1,
        5,
        "2025-01-01",
    )
    segment = subscription.segments.get()
    assert (segment.plan_code, segment.monthly_price, segment.tax_rate) == (
        "hogar-20",
        Decimal("25.00"),
        Decimal("0.15"),
    )
    charge = PendingCharge.objects.get(subscription=subscription)
    assert (charge.amount, charge.invoice) == (Decimal("30.00"), None)


def test_a_plan_change_starts_a_new_price_segment_on_its_effective_date(alice_subscribed, deliver):
    deliver(plan_changed(plan=HOGAR_50, effective_date="2025-03-10"))

    segments = list(alice_subscribed.segments.values_list("effective_from", "monthly_price"))
    assert [(str(d), str(p)) for d, p in segments] == [("2025-01-01", "25.00"), ("2025-03-10", "35.00")]


def test_a_cancellation_records_the_last_day_of_service(alice_subscribed, deliver):
    deliver(cancelled(effective_date="2025-03-20"))

    alice_subscribed.refresh_from_db()
    assert str(alice_subscribed.end_date) == "2025-03-20"


@pytest.mark.parametrize("missing", ["billing_day", "start_date"])
def test_a_subscription_without_what_billing_needs_goes_to_the_dlq_naming_it(deliver, missing):
    event = subscription_created()
    del event.data[missing]

    with pytest.raises(PermanentFailure, match=missing):
        deliver(event)
    assert not BillingSubscription.objects.exists()


def test_a_plan_without_its_price_goes_to_the_dlq(alice_subscribed, deliver):
    plan = {k: v for k, v in HOGAR_50.items() if k != "monthly_price"}

    with pytest.raises(PermanentFailure, match="monthly_price"):
        deliver(plan_changed(plan=plan, effective_date="2025-03-10"))


def test_a_change_to_a_subscription_billing_never_heard_of_goes_to_the_dlq(deliver):
    with pytest.raises(PermanentFailure, match="999"):
        deliver(cancelled(effective_date="2025-03-20", subscription_id=999))
