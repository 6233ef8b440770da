"""Billing's events become live fragments for the client's open pages: a line in the
notifications, the result page's "payment received" step for the checkout that was paid, the
balance, and — from the network's event — "service restored" once the router has it.

Alice is client 1; the fragments render as the notification socket renders them.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from enlace_messaging import catalog
from enlace_messaging.envelope import Envelope
from portal.notifications.registry import envelope_pushes, subscribed_topics
from tests.portal.conftest import ALICE

REFERENCE = "6f1c2d9e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


def _billing(type_: str, **data: Any) -> Envelope:
    return Envelope.new(type=type_, data={"client_id": ALICE["client_id"], **data}, source="billing")


def _rendered(envelope: Envelope, language: str = "es") -> str:
    [push] = envelope_pushes(envelope)
    assert push.client_id == ALICE["client_id"]
    with translation.override(language):
        return render_to_string(push.template, push.context)


def _payment(**changes: Any) -> Envelope:
    data: dict[str, Any] = {
        "payment_id": 7,
        "amount": "46.00",
        "method": "demo",
        "balance": "0.00",
        "checkout_reference": REFERENCE,
    }
    data.update(changes)
    return _billing("billing.payment.received", **data)


def test_the_portal_reads_billings_events() -> None:
    assert catalog.BILLING_EVENTS in subscribed_topics()


def test_a_payment_completes_its_checkouts_step_and_updates_the_balance() -> None:
    html = _rendered(_payment())

    assert "Pago recibido: $46.00" in html
    assert f'<li id="payment-step-{REFERENCE}"' in html
    assert 'data-state="received" hx-swap-oob="outerHTML"' in html
    assert (
        '<strong id="billing-balance" data-testid="billing-balance" hx-swap-oob="outerHTML">$0.00</strong>'
        in html
    )


def test_a_payment_without_a_checkout_completes_no_step() -> None:
    html = _rendered(_payment(method="cash", checkout_reference=None), "en")

    assert "Payment received: $46.00" in html
    assert "payment-step" not in html


def test_a_settled_account_says_so_and_removes_the_overdue_alert() -> None:
    html = _rendered(_billing("billing.account.settled", balance="0.00"))

    assert "Tu cuenta está al día" in html
    assert '<div id="billing-alert" hx-swap-oob="outerHTML"></div>' in html


def test_an_overdue_account_says_how_much_and_links_to_pay() -> None:
    html = _rendered(_billing("billing.account.overdue", balance="46.00", reason="overdue"))

    assert "Tu cuenta está en mora: $46.00" in html
    assert 'href="/billing/"' in html


def test_a_reminder_names_the_invoice_and_when_it_is_due() -> None:
    html = _rendered(
        _billing(
            "billing.invoice.reminder",
            invoice_number="001-001-000000002",
            amount_due="23.00",
            due_date="2026-02-11",
            offset_days=3,
        )
    )

    assert "La factura 001-001-000000002 ($23.00) venció el 2026-02-11" in html


def _service_changed(**changes: Any) -> Envelope:
    data: dict[str, Any] = {
        "subscription_id": 1001,
        "client_id": ALICE["client_id"],
        "status": "active",
        "reason": "",
        "online": None,
        "applied": True,
        "revision": 3,
    }
    data.update(changes)
    return Envelope.new(type="network.service.changed", data=data, source="network")


def test_the_service_is_restored_on_the_result_page_only_once_the_router_has_it() -> None:
    on_router = _rendered(_service_changed())
    decided = _rendered(_service_changed(applied=False))
    suspended = _rendered(_service_changed(status="suspended", reason="overdue"))

    assert '<li id="service-step-1001"' in on_router
    assert "Servicio restablecido" in on_router
    assert "service-step" not in decided
    assert "service-step" not in suspended
