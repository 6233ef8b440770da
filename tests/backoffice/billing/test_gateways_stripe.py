"""Stripe Checkout through the real ``stripe`` SDK against a local server implementing the
endpoints used; webhooks signed as Stripe signs them."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connections

from backoffice.billing import ledger, payments
from backoffice.billing.gateways.base import GatewayError, WebhookRejected
from backoffice.billing.models import Checkout, GatewayEvent, Payment
from tests.backoffice.billing.conftest import NOW
from tests.fakes.stripe_server import SECRET_KEY, WEBHOOK_SECRET, StripeServer, sign

pytestmark = pytest.mark.django_db(databases=["default", "billing"])

D = Decimal


@pytest.fixture
def stripe_server(settings):
    server = StripeServer().start()
    settings.ENLACE_STRIPE_SECRET_KEY = SECRET_KEY
    settings.ENLACE_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.ENLACE_STRIPE_API_BASE = server.url
    yield server
    server.stop()


@pytest.fixture
def alice_owes(alice_subscribed, run_march):
    """Alice owes March's invoice: 28.75."""
    run_march()


def _checkout():
    return payments.checkout_start(
        client_id=1,
        gateway="stripe",
        success_url="https://portal.enlace.test/billing/paid",
        cancel_url="https://portal.enlace.test/billing",
        now=NOW,
    )


def _deliver(body: bytes, signature: str | None = None):
    headers = {} if signature is None else {"Stripe-Signature": signature}
    return payments.webhook_receive(gateway="stripe", body=body, headers=headers, now=NOW)


def test_a_checkout_session_is_created_for_the_balance(stripe_server, alice_owes):
    checkout = _checkout()

    session = stripe_server.sessions[checkout.gateway_checkout_id]
    assert (session["amount_total"], session["currency"], session["client_reference_id"]) == (
        2875,
        "usd",
        str(checkout.reference),
    )
    assert checkout.redirect_url == session["url"]
    assert checkout.amount == D("28.75")


def test_a_signed_completed_event_pays_once_from_what_the_api_says(stripe_server, alice_owes, outbox):
    checkout = _checkout()
    stripe_server.pay(checkout.gateway_checkout_id)
    body = stripe_server.event("checkout.session.completed", checkout.gateway_checkout_id)

    outcome = _deliver(body, sign(body))
    again = _deliver(body, sign(body))

    assert (outcome.result, again.result) == ("applied", "duplicate")
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.gateway_payment_id) == (
        D("28.75"),
        "stripe",
        f"stripe:{stripe_server.sessions[checkout.gateway_checkout_id]['payment_intent']}",
    )
    assert ledger.client_balance(client_id=1) == D("0.00")
    assert [m["data"]["checkout_reference"] for m in outbox(type="billing.payment.received")] == [
        str(checkout.reference)
    ]


@pytest.mark.parametrize(
    "tamper",
    ["payload", "secret", "stale", "unsigned"],
)
def test_tampered_stale_and_unsigned_webhooks_are_refused(stripe_server, alice_owes, tamper):
    checkout = _checkout()
    stripe_server.pay(checkout.gateway_checkout_id)
    body = stripe_server.event("checkout.session.completed", checkout.gateway_checkout_id)
    signature = {
        "payload": sign(body),
        "secret": sign(body, secret="whsec_someone_else"),
        "stale": sign(body, timestamp=int(time.time()) - 600),
        "unsigned": None,
    }[tamper]
    if tamper == "payload":
        body = body.replace(b'"livemode": false', b'"livemode": true')

    with pytest.raises(WebhookRejected):
        _deliver(body, signature)
    assert not Payment.objects.exists()
    assert not GatewayEvent.objects.exists()


def test_an_event_that_says_paid_while_the_api_says_unpaid_pays_nothing(stripe_server, alice_owes):
    checkout = _checkout()
    forged = {
        **stripe_server.sessions[checkout.gateway_checkout_id],
        "payment_status": "paid",
        "status": "complete",
    }
    body = stripe_server.event("checkout.session.completed", checkout.gateway_checkout_id, snapshot=forged)

    assert _deliver(body, sign(body)).result == "recorded"
    assert not Payment.objects.exists()


def test_events_out_of_order_apply_the_payment_once(stripe_server, alice_owes):
    checkout = _checkout()
    session_id = checkout.gateway_checkout_id
    early = stripe_server.event(
        "checkout.session.async_payment_failed", session_id
    )  # sent before, arrives last
    stripe_server.pay(session_id)
    completed = stripe_server.event("checkout.session.completed", session_id)
    succeeded = stripe_server.event("checkout.session.async_payment_succeeded", session_id)

    results = [_deliver(body, sign(body)).result for body in (succeeded, completed, early)]

    assert results == ["applied", "recorded", "recorded"]
    assert Payment.objects.count() == 1
    assert Checkout.objects.get().status == "paid"


def test_an_unreachable_gateway_is_a_retryable_error(settings, alice_owes):
    settings.ENLACE_STRIPE_SECRET_KEY = SECRET_KEY
    settings.ENLACE_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.ENLACE_STRIPE_API_BASE = "http://127.0.0.1:9"

    with pytest.raises(GatewayError) as error:
        _checkout()
    assert error.value.retryable is True


@pytest.mark.django_db(databases=["default", "billing"], transaction=True)
def test_two_deliveries_racing_on_two_workers_make_one_ledger_entry(stripe_server, deliver, now):
    from backoffice.billing import invoicing
    from tests.backoffice.billing.conftest import MARCH, client_event, subscription_created

    deliver(client_event())
    deliver(subscription_created())
    invoicing.billing_run(month=MARCH, today=MARCH, now=now)
    checkout = _checkout()
    stripe_server.pay(checkout.gateway_checkout_id)
    # Two distinct events for one payment (completed and async_payment_succeeded), at once.
    bodies = [
        stripe_server.event("checkout.session.completed", checkout.gateway_checkout_id),
        stripe_server.event("checkout.session.async_payment_succeeded", checkout.gateway_checkout_id),
    ]
    start = threading.Barrier(2)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(body: bytes) -> None:
        try:
            start.wait()
            results.append(_deliver(body, sign(body)).result)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == ["applied", "recorded"]
    assert Payment.objects.count() == 1
    assert ledger.client_balance(client_id=1) == D("0.00")


def test_a_card_payment_of_an_overdue_account_settles_it_for_the_network_service(
    stripe_server, alice_owes, outbox
):
    from datetime import date

    from backoffice.billing.dunning import dunning_run

    dunning_run(today=date(2025, 3, 20), now=NOW)
    checkout = _checkout()
    stripe_server.pay(checkout.gateway_checkout_id)
    body = stripe_server.event("checkout.session.completed", checkout.gateway_checkout_id)

    _deliver(body, sign(body))

    [overdue] = outbox(type="billing.account.overdue")
    [settled] = outbox(type="billing.account.settled")
    assert (overdue["key"], settled["key"]) == ("1", "1")
    assert settled["data"] == {"client_id": 1, "balance": "0.00", "reason": "payment"}
