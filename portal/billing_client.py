"""The portal's HTTP client of the billing service (``/api/billing/v1/``).

Subscribers only reach their own account (the ``me/`` endpoints), with their own access token:
billing decides what they may see, so another client's invoice is simply not found. A 401
raises identity's ``TokenRejected`` so ``accounts.with_access_token`` refreshes and retries.
Money arrives as strings and stays ``Decimal``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import httpx
from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import get_language

from portal.identity_client import TokenRejected

_API = "/api/billing/v1"

T = TypeVar("T")


class BillingError(Exception):
    """Base of the billing client's errors; ``retryable`` says whether trying later can help."""

    retryable = False


class BillingUnavailable(BillingError):
    """The billing service (or the payment gateway behind it) did not answer as expected."""

    retryable = True


class NotASubscriber(BillingError):
    """The signed-in user has no client of their own (staff)."""


class BillingNotFound(BillingError):
    """No such account, invoice or payment for this subscriber (or it is another client's)."""


class BillingRefused(BillingError):
    """Billing refused the request (e.g. nothing to pay); ``message`` is for the subscriber."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _day(value: Any) -> date | None:
    return parse_date(str(value)) if value else None


def _moment(value: Any) -> datetime | None:
    return parse_datetime(str(value)) if value else None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with the numbers of its neighbours (None at either end)."""

    items: list[T]
    count: int
    number: int
    previous: int | None
    next: int | None


@dataclass(frozen=True)
class BillingAccount:
    client_id: int
    name: str
    balance: Decimal
    credit: Decimal
    overdue: bool
    open_invoices: int
    next_due_date: date | None
    promise_until: date | None
    gateways: list[str]

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> BillingAccount:
        return cls(
            client_id=int(body["client_id"]),
            name=str(body["name"]),
            balance=_money(body["balance"]),
            credit=_money(body["credit"]),
            overdue=bool(body["overdue"]),
            open_invoices=int(body["open_invoices"]),
            next_due_date=_day(body.get("next_due_date")),
            promise_until=_day(body.get("promise_until")),
            gateways=[str(g) for g in body.get("gateways") or []],
        )

    @property
    def owes(self) -> bool:
        return self.balance > 0


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    days: int
    period_days: int
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> InvoiceLine:
        return cls(
            description=str(body["description"]),
            days=int(body["days"]),
            period_days=int(body["period_days"]),
            subtotal=_money(body["subtotal"]),
            tax_rate=_money(body["tax_rate"]),
            tax=_money(body["tax"]),
            total=_money(body["total"]),
        )

    @property
    def tax_percent(self) -> Decimal:
        return (self.tax_rate * 100).normalize()


@dataclass(frozen=True)
class Invoice:
    number: str
    period_start: date | None
    period_end: date | None
    issue_date: date | None
    due_date: date | None
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    status: str
    customer_name: str = ""
    customer_identification: str = ""
    lines: tuple[InvoiceLine, ...] = ()

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Invoice:
        return cls(
            number=str(body["number"]),
            period_start=_day(body.get("period_start")),
            period_end=_day(body.get("period_end")),
            issue_date=_day(body.get("issue_date")),
            due_date=_day(body.get("due_date")),
            subtotal=_money(body["subtotal"]),
            tax=_money(body["tax"]),
            total=_money(body["total"]),
            amount_paid=_money(body["amount_paid"]),
            amount_due=_money(body["amount_due"]),
            status=str(body["status"]),
            customer_name=str(body.get("customer_name") or ""),
            customer_identification=str(body.get("customer_identification") or ""),
            lines=tuple(InvoiceLine.from_dict(line) for line in body.get("lines") or []),
        )

    @property
    def payable(self) -> bool:
        return self.status in ("issued", "partially_paid", "overdue") and self.amount_due > 0


@dataclass(frozen=True)
class Payment:
    id: int
    amount: Decimal
    method: str
    reference: str
    received_at: datetime | None

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Payment:
        return cls(
            id=int(body["id"]),
            amount=_money(body["amount"]),
            method=str(body["method"]),
            reference=str(body.get("reference") or ""),
            received_at=_moment(body.get("received_at")),
        )


@dataclass(frozen=True)
class Checkout:
    """A payment started at a gateway; ``status`` (open, paid, failed) is billing's, from the
    gateway's webhooks, never from the browser's return."""

    reference: str
    gateway: str
    demo: bool
    amount: Decimal
    invoice_number: str | None
    redirect_url: str
    status: str

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Checkout:
        return cls(
            reference=str(body["reference"]),
            gateway=str(body["gateway"]),
            demo=bool(body.get("demo")),
            amount=_money(body["amount"]),
            invoice_number=body.get("invoice_number") or None,
            redirect_url=str(body["redirect_url"]),
            status=str(body["status"]),
        )


@dataclass(frozen=True)
class DemoWebhook:
    """What the demo gateway's page delivers to billing's webhook endpoint."""

    body: str
    signature: str


class BillingClient:
    """Calls the billing service at ``base_url``; methods raise BillingError subclasses (and
    TokenRejected for a refused access token)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + _API,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, *, access_token: str | None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        # Billing's messages (e.g. "nothing to pay") in the page's language.
        headers.setdefault("Accept-Language", get_language() or "es")
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise BillingUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 401:
            raise TokenRejected("the billing service refused the access token")
        if response.status_code == 403:
            raise NotASubscriber("the billing service says this user has no client")
        if response.status_code == 404:
            raise BillingNotFound(f"{method} {path}: not found for this subscriber")
        if response.status_code == 400:
            body = _json(response)
            detail = body.get("detail") if isinstance(body, dict) else None
            raise BillingRefused(
                str(detail or ""), str(body.get("error", "")) if isinstance(body, dict) else ""
            )
        if response.status_code not in (200, 201):
            raise BillingUnavailable(f"{method} {path}: HTTP {response.status_code}")
        return response

    def _get(self, path: str, *, access_token: str, **params: Any) -> Any:
        return _json(self._send("GET", path, access_token=access_token, params=params or None))

    def _page(self, path: str, parse: Any, *, access_token: str, page: int) -> Page[Any]:
        body = self._get(path, access_token=access_token, page=page)
        try:
            return Page(
                items=[parse(item) for item in body["results"]],
                count=int(body["count"]),
                number=page,
                previous=page - 1 if body.get("previous") else None,
                next=page + 1 if body.get("next") else None,
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise BillingUnavailable(f"GET {path}: malformed page: {exc}") from exc

    def my_account(self, *, access_token: str) -> BillingAccount:
        """The subscriber's balance and the gateways they may pay with; BillingNotFound when
        billing has no account for their client yet."""
        return _parsed(BillingAccount.from_dict, self._get("/me/account/", access_token=access_token))

    def my_invoices(self, *, access_token: str, page: int = 1) -> Page[Invoice]:
        """The subscriber's invoices, newest first; BillingNotFound for a page past the end."""
        return self._page("/me/invoices/", Invoice.from_dict, access_token=access_token, page=page)

    def my_invoice(self, *, access_token: str, number: str) -> Invoice:
        """One invoice with its lines; BillingNotFound when it is not the subscriber's."""
        body = self._get(f"/me/invoices/{_segment(number)}/", access_token=access_token)
        return _parsed(Invoice.from_dict, body)

    def my_invoice_pdf(self, *, access_token: str, number: str, language: str) -> bytes:
        """The invoice's PDF in ``language``; BillingNotFound when it is not the subscriber's."""
        response = self._send(
            "GET",
            f"/me/invoices/{_segment(number)}/pdf",
            access_token=access_token,
            params={"language": language},
            # Billing's API negotiates JSON; its PDF view answers any Accept but a PDF-only one.
            headers={"Accept": "*/*"},
        )
        if response.headers.get("content-type", "").split(";")[0] != "application/pdf":
            raise BillingUnavailable(f"invoice {number}: the billing service answered without a PDF")
        return response.content

    def my_payments(self, *, access_token: str, page: int = 1) -> Page[Payment]:
        """The subscriber's payments, newest first."""
        return self._page("/me/payments/", Payment.from_dict, access_token=access_token, page=page)

    def checkout_create(
        self,
        *,
        access_token: str,
        gateway: str,
        success_url: str,
        cancel_url: str,
        invoice_number: str | None = None,
    ) -> Checkout:
        """Starts paying ``invoice_number`` (or the whole balance) at ``gateway``; BillingRefused
        when there is nothing to pay or the gateway is not offered."""
        payload: dict[str, str] = {"gateway": gateway, "success_url": success_url, "cancel_url": cancel_url}
        if invoice_number:
            payload["invoice_number"] = invoice_number
        response = self._send("POST", "/me/checkouts/", access_token=access_token, json=payload)
        return _parsed(Checkout.from_dict, _json(response))

    def my_checkout(self, *, access_token: str, reference: str) -> Checkout:
        """The checkout as billing knows it (paid only once a gateway's webhook said so)."""
        body = self._get(f"/me/checkouts/{_segment(reference)}/", access_token=access_token)
        return _parsed(Checkout.from_dict, body)

    def demo_complete(self, *, access_token: str, reference: str) -> DemoWebhook:
        """Pays a demo checkout at the demo gateway; returns the webhook the page delivers."""
        response = self._send(
            "POST", f"/me/checkouts/{_segment(reference)}/demo-complete", access_token=access_token
        )
        body = _json(response)
        try:
            return DemoWebhook(body=str(body["body"]), signature=str(body["signature"]))
        except (KeyError, TypeError) as exc:
            raise BillingUnavailable(f"malformed demo webhook: {exc}") from exc

    def demo_webhook_deliver(self, webhook: DemoWebhook) -> None:
        """Delivers the demo gateway's webhook to billing, as a real gateway's server would."""
        self._send(
            "POST",
            "/webhooks/demo",
            access_token=None,
            content=webhook.body.encode(),
            headers={"Content-Type": "application/json", "Demo-Signature": webhook.signature},
        )


def _segment(value: str) -> str:
    # Numbers and references are path segments: nothing that could change the path.
    if not value or "/" in value or "." in value or "?" in value or "#" in value:
        raise BillingNotFound(f"{value!r} is not a document number")
    return value


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise BillingUnavailable(f"HTTP {response.status_code} without JSON") from exc


def _parsed(parse: Any, body: Any) -> Any:
    try:
        return parse(body)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise BillingUnavailable(f"the billing service returned malformed data: {exc}") from exc


@functools.cache
def _client_for(base_url: str, timeout: float) -> BillingClient:
    return BillingClient(base_url, timeout=timeout)


def billing_client() -> BillingClient:
    """The process-wide client (httpx pools connections and is thread-safe)."""
    return _client_for(settings.ENLACE_BILLING_URL, float(settings.ENLACE_BILLING_TIMEOUT_SECONDS))
