"""Notifications about the subscriber's account, from the billing service's events.

A payment's line goes to every open page of the client; the result page of the checkout it
completed (``#payment-step-<reference>``) also turns to "payment received", and the balance
shown on a page (``#billing-balance``) follows. Billing publishes these from its webhook path,
so the pages learn of a payment from the gateway, never from the browser's return.
"""

from __future__ import annotations

from enlace_messaging import catalog
from enlace_messaging.envelope import Envelope
from portal.notifications.registry import Push, notification_handler


def _push(envelope: Envelope, template: str, context: dict[str, object]) -> list[Push]:
    # Every billing event names its client (the contract requires it).
    client_id = int(envelope.data["client_id"])
    return [Push(client_id=client_id, template=template, context={**context, "id": envelope.id})]


@notification_handler(catalog.BILLING_EVENTS, "billing.payment.received")
def payment_received(envelope: Envelope) -> list[Push]:
    """The payment's line, its result page's step and the new balance."""
    data = envelope.data
    return _push(
        envelope,
        "portal/notifications/payment_received.html",
        {
            "amount": str(data["amount"]),
            "balance": str(data["balance"]),
            "method": str(data.get("method") or ""),
            "checkout_reference": str(data.get("checkout_reference") or ""),
        },
    )


@notification_handler(catalog.BILLING_EVENTS, "billing.account.settled")
def account_settled(envelope: Envelope) -> list[Push]:
    """The account is up to date: the service comes back on its own if it was suspended."""
    return _push(
        envelope,
        "portal/notifications/account_settled.html",
        {"balance": str(envelope.data.get("balance") or "")},
    )


@notification_handler(catalog.BILLING_EVENTS, "billing.account.overdue")
def account_overdue(envelope: Envelope) -> list[Push]:
    """The account fell overdue (the service will be suspended)."""
    return _push(
        envelope,
        "portal/notifications/account_overdue.html",
        {"balance": str(envelope.data.get("balance") or "")},
    )


@notification_handler(catalog.BILLING_EVENTS, "billing.invoice.issued")
def invoice_issued(envelope: Envelope) -> list[Push]:
    data = envelope.data
    return _push(
        envelope,
        "portal/notifications/invoice_issued.html",
        {
            "number": str(data["invoice_number"]),
            "total": str(data["total"]),
            "due_date": str(data["due_date"]),
        },
    )


@notification_handler(catalog.BILLING_EVENTS, "billing.invoice.reminder")
def invoice_reminder(envelope: Envelope) -> list[Push]:
    data = envelope.data
    return _push(
        envelope,
        "portal/notifications/invoice_reminder.html",
        {
            "number": str(data["invoice_number"]),
            "amount_due": str(data["amount_due"]),
            "due_date": str(data["due_date"]),
            "offset_days": int(data["offset_days"]),
        },
    )
