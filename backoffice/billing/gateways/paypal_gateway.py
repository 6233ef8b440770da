"""PayPal Orders v2 through ``paypal-server-sdk`` (package ``paypalserversdk``).

Create an order → the payer approves it at PayPal → we capture it; a payment is recorded only
when the capture is COMPLETED. Webhooks are verified by PayPal's verify-webhook-signature API
(not offered by the SDK: called with httpx and an OAuth token) and then only used as a hint:
the order is read again (and captured if approved) through the SDK.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from django.conf import settings
from paypalserversdk.configuration import Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import PaypalWalletExperienceContext
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from backoffice.billing.gateways.base import (
    CheckoutCreated,
    CheckoutRequest,
    GatewayError,
    PaymentState,
    WebhookEvent,
    WebhookRejected,
)

TOLERANCE_SECONDS = 300
_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)


def _api_error(exc: Exception) -> GatewayError:
    status = getattr(exc, "response_code", None)
    retryable = status is None or status >= 500 or status == 429
    return GatewayError(f"PayPal: {exc}", retryable=retryable)


def _get(obj: Any, name: str) -> Any:
    return getattr(obj, name, None) if not isinstance(obj, dict) else obj.get(name)


@dataclass
class PayPalGateway:
    client_id: str
    client_secret: str
    webhook_id: str
    api_base: str
    name: str = "paypal"

    @classmethod
    def from_settings(cls) -> PayPalGateway:
        if not (settings.ENLACE_PAYPAL_CLIENT_SECRET and settings.ENLACE_PAYPAL_WEBHOOK_ID):
            raise GatewayError(
                "ENLACE_PAYPAL_CLIENT_SECRET and ENLACE_PAYPAL_WEBHOOK_ID must be set", retryable=False
            )
        return cls(
            client_id=settings.ENLACE_PAYPAL_CLIENT_ID or "",
            client_secret=settings.ENLACE_PAYPAL_CLIENT_SECRET,
            webhook_id=settings.ENLACE_PAYPAL_WEBHOOK_ID,
            api_base=settings.ENLACE_PAYPAL_API_BASE.rstrip("/"),
        )

    def _client(self) -> PaypalServersdkClient:
        client = PaypalServersdkClient(
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=self.client_id, o_auth_client_secret=self.client_secret
            ),
            environment=Environment.SANDBOX,
            timeout=20,
        )
        # The SDK knows PayPal's two hosts; ours comes from settings (a local server in tests).
        client.config.environments = {Environment.SANDBOX: {Server.DEFAULT: self.api_base}}
        return client

    def checkout_create(self, request: CheckoutRequest) -> CheckoutCreated:
        body = OrderRequest(
            intent="CAPTURE",
            purchase_units=[
                PurchaseUnitRequest(
                    amount=AmountWithBreakdown(currency_code=request.currency, value=f"{request.amount:.2f}"),
                    custom_id=request.reference,
                    description=request.description[:127],
                )
            ],
            payment_source=PaymentSource(
                paypal=PaypalWallet(
                    experience_context=PaypalWalletExperienceContext(
                        return_url=request.success_url, cancel_url=request.cancel_url, user_action="PAY_NOW"
                    )
                )
            ),
        )
        try:
            response = self._client().orders.create_order(
                {
                    "body": body,
                    "paypal_request_id": f"checkout-{request.reference}",
                    "prefer": "return=representation",
                }
            )
        except (ApiException, AuthValidationException, OSError) as exc:
            raise _api_error(exc) from exc
        order = response.body
        links = {_get(link, "rel"): _get(link, "href") for link in (_get(order, "links") or [])}
        redirect = links.get("payer-action") or links.get("approve")
        if not redirect:
            raise GatewayError("PayPal returned an order without an approval link", retryable=False)
        return CheckoutCreated(gateway_checkout_id=_get(order, "id"), redirect_url=redirect)

    def webhook_verify(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        lowered = {key.lower(): value for key, value in headers.items()}
        missing = [name for name in _HEADERS if not lowered.get(name)]
        if missing:
            raise WebhookRejected(f"PayPal webhook without {', '.join(missing)}")
        try:
            sent_at = datetime.fromisoformat(lowered["paypal-transmission-time"].replace("Z", "+00:00"))
        except ValueError:
            raise WebhookRejected("PayPal webhook with an unreadable transmission time") from None
        if abs(time.time() - sent_at.timestamp()) > TOLERANCE_SECONDS:
            raise WebhookRejected("PayPal webhook too old (replayed?)")
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected(f"PayPal webhook is not JSON: {exc}") from exc
        verification = self._post(
            "/v1/notifications/verify-webhook-signature",
            {
                "auth_algo": lowered["paypal-auth-algo"],
                "cert_url": lowered["paypal-cert-url"],
                "transmission_id": lowered["paypal-transmission-id"],
                "transmission_sig": lowered["paypal-transmission-sig"],
                "transmission_time": lowered["paypal-transmission-time"],
                "webhook_id": self.webhook_id,
                "webhook_event": event,
            },
        )
        if verification.get("verification_status") != "SUCCESS":
            raise WebhookRejected("PayPal says the webhook signature does not verify")
        resource = event.get("resource") or {}
        order_id = None
        if event.get("event_type", "").startswith("CHECKOUT.ORDER."):
            order_id = resource.get("id")
        elif event.get("event_type", "").startswith("PAYMENT.CAPTURE."):
            order_id = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
        return WebhookEvent(
            event_id=str(event.get("id")),
            event_type=str(event.get("event_type")),
            gateway_checkout_id=order_id,
        )

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            with httpx.Client(base_url=self.api_base, timeout=20) as http:
                token = http.post(
                    "/v1/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    auth=(self.client_id, self.client_secret),
                )
                token.raise_for_status()
                answer = http.post(
                    path, json=payload, headers={"Authorization": f"Bearer {token.json()['access_token']}"}
                )
                answer.raise_for_status()
                result: dict[str, Any] = answer.json()
                return result
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            raise GatewayError(
                f"PayPal {path}: HTTP {status}", retryable=status >= 500 or status == 429
            ) from exc
        except httpx.HTTPError as exc:
            raise GatewayError(f"PayPal {path}: {exc}", retryable=True) from exc

    def payment_confirm(self, *, gateway_checkout_id: str) -> PaymentState:
        orders = self._client().orders
        try:
            order = orders.get_order({"id": gateway_checkout_id}).body
            if _get(order, "status") == "APPROVED":
                # Capturing is what takes the money; the request id makes a second capture
                # (a racing webhook) return the first one's result instead of failing.
                order = orders.capture_order(
                    {
                        "id": gateway_checkout_id,
                        "paypal_request_id": f"capture-{gateway_checkout_id}",
                        "prefer": "return=representation",
                    }
                ).body
        except (ApiException, AuthValidationException, OSError) as exc:
            raise _api_error(exc) from exc
        for unit in _get(order, "purchase_units") or []:
            for capture in _get(_get(unit, "payments") or {}, "captures") or []:
                if _get(capture, "status") == "COMPLETED":
                    amount = _get(capture, "amount")
                    return PaymentState(
                        gateway_checkout_id=gateway_checkout_id,
                        status="paid",
                        amount=Decimal(_get(amount, "value")),
                        currency=_get(amount, "currency_code"),
                        gateway_payment_id=f"paypal:{_get(capture, 'id')}",
                    )
        if _get(order, "status") == "VOIDED":
            return PaymentState(gateway_checkout_id=gateway_checkout_id, status="failed")
        return PaymentState(gateway_checkout_id=gateway_checkout_id, status="pending")
