"""PayPal Orders v2 through the real ``paypal-server-sdk`` against a local server implementing
the endpoints used; webhooks verified through the verify-webhook-signature API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from backoffice.billing import ledger, payments
from backoffice.billing.gateways.base import WebhookRejected
from backoffice.billing.models import Checkout, Payment
from tests.backoffice.billing.conftest import NOW
from tests.fakes.paypal_server import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, PayPalServer

pytestmark = pytest.mark.django_db(databases=["default", "billing"])

D = Decimal


@pytest.fixture
def paypal_server(settings):
    server = PayPalServer().start()
    settings.ENLACE_PAYPAL_CLIENT_ID = CLIENT_ID
    settings.ENLACE_PAYPAL_CLIENT_SECRET = CLIENT_SECRET
    settings.ENLACE_PAYPAL_WEBHOOK_ID = WEBHOOK_ID
    settings.ENLACE_PAYPAL_API_BASE = server.url
    yield server
    server.stop()


@pytest.fixture
def order(paypal_server, alice_subscribed, run_march) -> Checkout:
    """Alice owes 28.75 and started paying it with PayPal."""
    run_march()
    return payments.checkout_start(
        client_id=1,
        gateway="paypal",
        success_url="https://portal.enlace.test/billing/paid",
        cancel_url="https://portal.enlace.test/billing",
        now=NOW,
    )


def _deliver(server, body, headers=None):
    return payments.webhook_receive(
        gateway="paypal",
        body=body,
        headers=server.signed_headers(body) if headers is None else headers,
        now=NOW,
    )


def test_an_order_is_created_for_the_amount_with_the_approval_link(paypal_server, order):
    created = paypal_server.orders[order.gateway_checkout_id]

    assert created["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "28.75"}
    assert created["purchase_units"][0]["custom_id"] == str(order.reference)
    assert (
        order.redirect_url == f"https://www.sandbox.paypal.test/checkoutnow?token={order.gateway_checkout_id}"
    )


def test_an_approved_order_is_captured_and_paid_once(paypal_server, order):
    paypal_server.approve(order.gateway_checkout_id)
    approved = paypal_server.event("CHECKOUT.ORDER.APPROVED", order.gateway_checkout_id)
    completed = paypal_server.event("CHECKOUT.ORDER.COMPLETED", order.gateway_checkout_id)

    results = [_deliver(paypal_server, body).result for body in (approved, approved, completed)]

    assert results == ["applied", "duplicate", "recorded"]
    assert paypal_server.captures == 1
    payment = Payment.objects.get()
    assert (payment.amount, payment.method) == (D("28.75"), "paypal")
    assert ledger.client_balance(client_id=1) == D("0.00")


def test_a_capture_that_is_not_completed_pays_nothing(paypal_server, order):
    paypal_server.capture_status = "PENDING"
    paypal_server.approve(order.gateway_checkout_id)
    body = paypal_server.event("CHECKOUT.ORDER.APPROVED", order.gateway_checkout_id)

    assert _deliver(paypal_server, body).result == "recorded"
    assert not Payment.objects.exists()


def test_an_event_for_an_order_not_approved_pays_nothing(paypal_server, order):
    body = paypal_server.event("CHECKOUT.ORDER.APPROVED", order.gateway_checkout_id)

    assert _deliver(paypal_server, body).result == "recorded"
    assert not Payment.objects.exists()


@pytest.mark.parametrize("tamper", ["payload", "other webhook", "stale", "unsigned"])
def test_tampered_stale_and_unsigned_webhooks_are_refused(paypal_server, order, tamper):
    paypal_server.approve(order.gateway_checkout_id)
    body = paypal_server.event("CHECKOUT.ORDER.APPROVED", order.gateway_checkout_id)
    headers = {
        "payload": paypal_server.signed_headers(body),
        "other webhook": paypal_server.signed_headers(body, webhook_id="WH-SOMEONE-ELSE"),
        "stale": paypal_server.signed_headers(body, age=timedelta(minutes=10)),
        "unsigned": {},
    }[tamper]
    if tamper == "payload":
        body = body.replace(b"CHECKOUT.ORDER.APPROVED", b"CHECKOUT.ORDER.COMPLETED")

    with pytest.raises(WebhookRejected):
        _deliver(paypal_server, body, headers)
    assert not Payment.objects.exists()
    assert paypal_server.captures == 0
