"""Online payments: starting a checkout at a gateway, and applying what its webhooks announce.

A webhook is trusted only once its signature is verified, and even then only as a hint: the
checkout is read again from the gateway's API, so a stale, reordered or replayed event cannot
pay, unpay or pay twice. The browser's return URL is never trusted. Each event id is recorded
once (unique), in the transaction that applies its effect; the payment itself is recorded once
per gateway payment id (unique, under the client's account lock), however webhooks race.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import DomainError
from backoffice.billing import ledger
from backoffice.billing.gateways import gateway_get
from backoffice.billing.gateways.base import CheckoutRequest, GatewayError, PaymentState, WebhookRejected
from backoffice.billing.models import OPEN_STATUSES, Checkout, CheckoutStatus, GatewayEvent, Invoice
from backoffice.billing.selectors import account_get

logger = logging.getLogger(__name__)

DB = ledger.DB


def checkout_start(
    *,
    client_id: int,
    gateway: str,
    success_url: str,
    cancel_url: str,
    now: datetime,
    invoice: Invoice | None = None,
) -> Checkout:
    """Starts paying ``invoice`` (what is left of it) or else the client's whole balance.

    Raises DomainError when there is nothing to pay, GatewayError when the gateway fails.
    """
    account = account_get(client_id=client_id)
    if invoice is not None:
        if invoice.client_id != client_id or invoice.status not in OPEN_STATUSES:
            raise DomainError(
                _("Invoice %(n)s has nothing to pay.") % {"n": invoice.number}, code="nothing_to_pay"
            )
        amount = invoice.amount_due
        description = _("Invoice %(n)s") % {"n": invoice.number}
    else:
        amount = ledger.client_balance(client_id=client_id)
        description = _("Balance of %(name)s") % {"name": account.name}
    if amount <= 0:
        raise DomainError(_("There is nothing to pay."), code="nothing_to_pay")
    reference = uuid.uuid4()
    # The call to the gateway happens outside any transaction: no lock is held over the network.
    created = gateway_get(gateway).checkout_create(
        CheckoutRequest(
            reference=str(reference),
            amount=amount,
            currency="USD",
            description=description,
            client_id=client_id,
            invoice_number=invoice.number if invoice else None,
            success_url=success_url,
            cancel_url=cancel_url,
        )
    )
    return Checkout.objects.create(
        reference=reference,
        gateway=gateway,
        gateway_checkout_id=created.gateway_checkout_id,
        client_id=client_id,
        invoice=invoice,
        amount=amount,
        redirect_url=created.redirect_url,
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    # "applied": a payment was recorded; "duplicate": the event was seen before; "recorded":
    # nothing to pay (yet), or an event we do not act on.
    result: str


def webhook_receive(
    *, gateway: str, body: bytes, headers: Mapping[str, str], now: datetime
) -> WebhookOutcome:
    """Verifies and applies one webhook delivery.

    Raises WebhookRejected (answer 400: never applied), GatewayError (retryable: answer 503 so
    the gateway delivers it again).
    """
    provider = gateway_get(gateway)
    event = provider.webhook_verify(body=body, headers=headers)
    if GatewayEvent.objects.filter(gateway=gateway, event_id=event.event_id).exists():
        return WebhookOutcome(event.event_id, "duplicate")
    checkout = None
    state: PaymentState | None = None
    if event.gateway_checkout_id:
        checkout = Checkout.objects.filter(
            gateway=gateway, gateway_checkout_id=event.gateway_checkout_id
        ).first()
        if checkout is None:
            logger.warning(
                "%s event %s for unknown checkout %s", gateway, event.event_id, event.gateway_checkout_id
            )
        else:
            # Outside the transaction: a network call must not hold locks.
            state = provider.payment_confirm(gateway_checkout_id=checkout.gateway_checkout_id)
    try:
        with transaction.atomic(using=DB):
            GatewayEvent.objects.create(
                gateway=gateway, event_id=event.event_id, event_type=event.event_type, received_at=now
            )
            applied = checkout is not None and state is not None and _checkout_apply(checkout, state, now=now)
    except IntegrityError:
        # The same event delivered twice at once: the other delivery recorded (and applied) it.
        return WebhookOutcome(event.event_id, "duplicate")
    return WebhookOutcome(event.event_id, "applied" if applied else "recorded")


def checkout_refresh(*, checkout: Checkout, now: datetime) -> Checkout:
    """Asks the gateway about ``checkout`` and applies a payment it completed (used by the
    result page and by staff when a webhook is late); raises GatewayError."""
    state = gateway_get(checkout.gateway).payment_confirm(gateway_checkout_id=checkout.gateway_checkout_id)
    with transaction.atomic(using=DB):
        _checkout_apply(checkout, state, now=now)
    checkout.refresh_from_db()
    return checkout


def _checkout_apply(checkout: Checkout, state: PaymentState, *, now: datetime) -> bool:
    """Records the checkout's payment if the gateway says it is paid; True if it did now."""
    checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
    if checkout.status == CheckoutStatus.PAID:
        return False  # a paid checkout never goes back, whatever an older event says
    if state.status == "failed":
        checkout.status = CheckoutStatus.FAILED
        checkout.updated_at = now
        checkout.save(update_fields=["status", "updated_at"])
        return False
    if state.status != "paid" or state.gateway_payment_id is None:
        return False
    amount = state.amount if state.amount is not None else checkout.amount
    if state.currency not in (None, checkout.currency):
        raise GatewayError(
            f"checkout {checkout.reference} was paid in {state.currency}, not {checkout.currency}",
            retryable=False,
        )
    payment, _created = ledger.payment_record(
        client_id=checkout.client_id,
        amount=Decimal(amount),
        method=checkout.gateway,
        reference=checkout.gateway_checkout_id,
        received_at=now,
        now=now,
        gateway_payment_id=state.gateway_payment_id,
        checkout_reference=str(checkout.reference),
    )
    checkout.status = CheckoutStatus.PAID
    checkout.payment = payment
    checkout.updated_at = now
    checkout.save(update_fields=["status", "payment", "updated_at"])
    return _created


__all__ = ["GatewayError", "WebhookRejected", "checkout_refresh", "checkout_start", "webhook_receive"]
