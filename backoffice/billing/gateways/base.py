"""The contract every payment gateway implements: plain data in, plain data out.

A gateway module owns its provider's SDK; billing's domain code sees only these types, so an
Ecuadorian gateway (Payphone, Kushki) is one more module implementing :class:`Gateway`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol


class GatewayError(Exception):
    """The gateway failed; ``retryable`` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class WebhookRejected(Exception):
    """A webhook that is unsigned, wrongly signed, stale or malformed: never applied."""


@dataclass(frozen=True)
class CheckoutRequest:
    reference: str  # ours: comes back in the gateway's object
    amount: Decimal
    currency: str
    description: str
    client_id: int
    invoice_number: str | None
    success_url: str
    cancel_url: str


@dataclass(frozen=True)
class CheckoutCreated:
    gateway_checkout_id: str
    redirect_url: str


@dataclass(frozen=True)
class PaymentState:
    """What the gateway says of a checkout now (read from its API, never from a browser)."""

    gateway_checkout_id: str
    status: Literal["paid", "pending", "failed"]
    amount: Decimal | None = None
    currency: str | None = None
    # The gateway's id of the money movement: a payment is recorded once per id.
    gateway_payment_id: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    event_type: str
    # The checkout the event is about, when it is about one we handle.
    gateway_checkout_id: str | None


class Gateway(Protocol):
    name: str

    def checkout_create(self, request: CheckoutRequest) -> CheckoutCreated:
        """Starts a payment; raises GatewayError."""
        ...

    def webhook_verify(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """The event in a webhook whose signature holds; raises WebhookRejected, or
        GatewayError when the verification itself could not be done."""
        ...

    def payment_confirm(self, *, gateway_checkout_id: str) -> PaymentState:
        """Re-reads the checkout from the gateway (capturing it where the gateway needs that);
        raises GatewayError."""
        ...
