"""The demo gateway: used when no gateway keys are set, clearly labelled as such.

It has no outside service: ``checkout_create`` returns a page of ours where the subscriber
presses "pay (demo)"; that page posts a webhook signed with the demo secret to the same
webhook endpoint real gateways use, so the payment is applied by the same path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from backoffice.billing.gateways.base import (
    CheckoutCreated,
    CheckoutRequest,
    PaymentState,
    WebhookEvent,
    WebhookRejected,
)

LABEL = "DEMO - no real money moves"
TOLERANCE_SECONDS = 300


def _secret() -> bytes:
    return hashlib.sha256(("enlace-demo-gateway:" + settings.SECRET_KEY).encode()).digest()


def demo_signature(body: bytes, *, timestamp: int | None = None) -> str:
    """The ``Demo-Signature`` header for ``body``: HMAC-SHA256 over "{t}.{body}" (as Stripe)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(_secret(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def demo_paid_key(checkout_id: str) -> str:
    return f"billing-demo-paid:{checkout_id}"


@dataclass
class DemoGateway:
    portal_url: str
    name: str = "demo"

    @classmethod
    def from_settings(cls) -> DemoGateway:
        return cls(portal_url=settings.ENLACE_PORTAL_URL)

    def checkout_create(self, request: CheckoutRequest) -> CheckoutCreated:
        checkout_id = f"demo_{request.reference}"
        return CheckoutCreated(
            gateway_checkout_id=checkout_id, redirect_url=f"{self.portal_url}/billing/demo-pay/{checkout_id}"
        )

    def complete(self, *, gateway_checkout_id: str) -> tuple[bytes, str]:
        """Marks the checkout paid and returns the webhook (body, signature) to deliver."""
        caches["default"].set(demo_paid_key(gateway_checkout_id), True, timeout=7 * 24 * 3600)
        body = json.dumps(
            {
                "id": f"evt_{gateway_checkout_id}",
                "type": "demo.checkout.paid",
                "checkout": gateway_checkout_id,
            }
        ).encode()
        return body, demo_signature(body)

    def webhook_verify(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        header = headers.get("Demo-Signature") or headers.get("demo-signature") or ""
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        try:
            timestamp = int(parts["t"])
        except (KeyError, ValueError):
            raise WebhookRejected("no valid Demo-Signature header") from None
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            raise WebhookRejected("the demo webhook is too old")
        expected = demo_signature(body, timestamp=timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise WebhookRejected("the demo webhook's signature does not match")
        try:
            event = json.loads(body)
            return WebhookEvent(
                event_id=event["id"], event_type=event["type"], gateway_checkout_id=event["checkout"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"not a demo event: {exc}") from exc

    def payment_confirm(self, *, gateway_checkout_id: str) -> PaymentState:
        if caches["default"].get(demo_paid_key(gateway_checkout_id)):
            return PaymentState(
                gateway_checkout_id=gateway_checkout_id,
                status="paid",
                gateway_payment_id=f"demo:{gateway_checkout_id}",
            )
        return PaymentState(gateway_checkout_id=gateway_checkout_id, status="pending")
