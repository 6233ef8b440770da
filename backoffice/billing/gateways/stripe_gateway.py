"""Stripe Checkout Sessions through the ``stripe`` SDK.

Webhooks are verified with ``stripe.Webhook.construct_event`` (HMAC-SHA256 of "{t}.{payload}"
in the Stripe-Signature header, five minutes' tolerance); whatever the event says, the session
is then read again from the API, so an old or reordered event cannot mislead us.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.conf import settings

from backoffice.billing.gateways.base import (
    CheckoutCreated,
    CheckoutRequest,
    GatewayError,
    PaymentState,
    WebhookEvent,
    WebhookRejected,
)

# The events that concern a checkout; others are acknowledged and ignored.
_SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
TOLERANCE_SECONDS = 300


def _error(exc: stripe.StripeError) -> GatewayError:
    # Connection problems, rate limits and Stripe's own 5xx may pass; the rest will not.
    retryable = isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (
        exc.http_status is not None and exc.http_status >= 500
    )
    return GatewayError(f"Stripe: {exc.user_message or exc}", retryable=retryable)


@dataclass
class StripeGateway:
    secret_key: str
    webhook_secret: str
    api_base: str | None = None
    name: str = "stripe"

    @classmethod
    def from_settings(cls) -> StripeGateway:
        if not settings.ENLACE_STRIPE_WEBHOOK_SECRET:
            raise GatewayError("ENLACE_STRIPE_WEBHOOK_SECRET is not set", retryable=False)
        return cls(
            secret_key=settings.ENLACE_STRIPE_SECRET_KEY or "",
            webhook_secret=settings.ENLACE_STRIPE_WEBHOOK_SECRET,
            api_base=settings.ENLACE_STRIPE_API_BASE,
        )

    def _client(self) -> stripe.StripeClient:
        addresses: dict[str, str] = {"api": self.api_base} if self.api_base else {}
        return stripe.StripeClient(self.secret_key, base_addresses=addresses, max_network_retries=1)  # type: ignore[arg-type]

    def checkout_create(self, request: CheckoutRequest) -> CheckoutCreated:
        cents = int((request.amount * 100).to_integral_value())
        try:
            session = self._client().v1.checkout.sessions.create(
                params={
                    "mode": "payment",
                    "client_reference_id": request.reference,
                    "success_url": request.success_url,
                    "cancel_url": request.cancel_url,
                    "metadata": {"reference": request.reference, "client_id": str(request.client_id)},
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": request.currency.lower(),
                                "unit_amount": cents,
                                "product_data": {"name": request.description},
                            },
                        }
                    ],
                },
                options={"idempotency_key": f"checkout-{request.reference}"},
            )
        except stripe.StripeError as exc:
            raise _error(exc) from exc
        return CheckoutCreated(gateway_checkout_id=session.id, redirect_url=session.url or "")

    def webhook_verify(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        signature = headers.get("Stripe-Signature") or headers.get("stripe-signature")
        if not signature:
            raise WebhookRejected("no Stripe-Signature header")
        try:
            event = stripe.Webhook.construct_event(
                body, signature, self.webhook_secret, tolerance=TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"Stripe signature: {exc.user_message or exc}") from exc
        except ValueError as exc:
            raise WebhookRejected(f"not a Stripe event: {exc}") from exc
        checkout_id = None
        if event.type in _SESSION_EVENTS:
            checkout_id = getattr(event.data.object, "id", None)
        return WebhookEvent(event_id=event.id, event_type=event.type, gateway_checkout_id=checkout_id)

    def payment_confirm(self, *, gateway_checkout_id: str) -> PaymentState:
        try:
            session = self._client().v1.checkout.sessions.retrieve(gateway_checkout_id)
        except stripe.StripeError as exc:
            raise _error(exc) from exc
        amount = Decimal(session.amount_total or 0) / 100
        if session.payment_status in ("paid", "no_payment_required") and session.status == "complete":
            intent = session.payment_intent
            intent_id = intent if isinstance(intent, str) else getattr(intent, "id", None)
            return PaymentState(
                gateway_checkout_id=session.id,
                status="paid",
                amount=amount.quantize(Decimal("0.01")),
                currency=(session.currency or "usd").upper(),
                gateway_payment_id=f"stripe:{intent_id or session.id}",
            )
        status = "failed" if session.status == "expired" else "pending"
        return PaymentState(gateway_checkout_id=session.id, status=status)  # type: ignore[arg-type]
