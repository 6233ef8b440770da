"""The portal's HTTP client of the clients service (``/api/clients/v1/``).

Subscribers read only their own plan and contracts, with their own access token (the clients
service answers 404 for anyone else's). A 401 raises identity's ``TokenRejected`` so
``accounts.with_access_token`` refreshes the token and retries, as for identity's own calls.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime

from portal.identity_client import TokenRejected

_API = "/api/clients/v1"


class ClientsError(Exception):
    """Base of the clients client's errors; ``retryable`` says whether trying later can help."""

    retryable = False


class ClientsUnavailable(ClientsError):
    """The clients service did not answer, or answered with something unexpected."""

    retryable = True


class NotASubscriber(ClientsError):
    """The signed-in user has no client of their own (staff)."""


class NotFound(ClientsError):
    """No such subscription or contract version, or it is not the signed-in subscriber's."""


class AcceptanceRefused(ClientsError):
    """The clients service refused the acceptance (e.g. the version is no longer current);
    ``message`` is its explanation, in the subscriber's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MyPlan:
    """One of the subscriber's active subscriptions and the plan it is on."""

    subscription_id: int
    plan_code: str
    plan_name: str
    download: str
    upload: str
    monthly_price: Decimal
    tax_rate: Decimal
    price_with_tax: Decimal
    billing_day: int
    next_billing_date: date | None
    start_date: date
    address: str
    pppoe_username: str

    @property
    def tax_percent(self) -> Decimal:
        return (self.tax_rate * 100).normalize()

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> MyPlan:
        plan = body["plan"]
        next_billing = body.get("next_billing_date")
        start = parse_date(str(body["start_date"]))
        if start is None:
            raise ValueError(f"start_date {body['start_date']!r} is not a date")
        return cls(
            subscription_id=int(body["id"]),
            plan_code=str(plan["code"]),
            plan_name=str(plan["name"]),
            download=str(plan["download"]),
            upload=str(plan["upload"]),
            monthly_price=Decimal(str(plan["monthly_price"])),
            tax_rate=Decimal(str(plan["tax_rate"])),
            price_with_tax=Decimal(str(plan["price_with_tax"])),
            billing_day=int(body["billing_day"]),
            next_billing_date=parse_date(next_billing) if next_billing else None,
            start_date=start,
            address=str(body.get("address") or ""),
            pppoe_username=str(body["pppoe_username"]),
        )


@dataclass(frozen=True)
class MyAccount:
    """The subscriber's client record (name) and their active subscriptions."""

    client_id: int
    name: str
    plans: list[MyPlan]


@dataclass(frozen=True)
class ContractVersion:
    """One version of a subscription's contract in one language."""

    subscription_id: int
    version: int
    language: str
    sha256: str
    size: int
    rendered_at: datetime | None
    current: bool
    accepted_at: datetime | None

    @classmethod
    def from_dict(cls, subscription_id: int, body: dict[str, Any]) -> ContractVersion:
        acceptances = body.get("acceptances") or []
        accepted = [parse_datetime(str(a["accepted_at"])) for a in acceptances]
        return cls(
            subscription_id=subscription_id,
            version=int(body["version"]),
            language=str(body["language"]),
            sha256=str(body["sha256"]),
            size=int(body["size"]),
            rendered_at=parse_datetime(str(body["rendered_at"])),
            current=bool(body["current"]),
            accepted_at=min((a for a in accepted if a is not None), default=None),
        )


@dataclass(frozen=True)
class ContractFile:
    filename: str
    content: bytes
    sha256: str


class ClientsClient:
    """Calls the clients service at ``base_url``; methods raise ClientsError subclasses (and
    TokenRejected for a refused access token)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + _API,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        access_token: str,
        json: dict[str, Any] | None = None,
        client_ip: str | None = None,
        language: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {access_token}"}
        if client_ip:
            # The clients service records the subscriber's address with an acceptance; it
            # believes this header only from a proxy it trusts (the portal).
            headers["X-Forwarded-For"] = client_ip
        if language:
            headers["Accept-Language"] = language
        try:
            response = self._http.request(method, path, headers=headers, json=json)
        except httpx.HTTPError as exc:
            raise ClientsUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 401:
            raise TokenRejected("the clients service refused the access token")
        if response.status_code == 403:
            raise NotASubscriber("the clients service says this user has no client")
        if response.status_code == 404:
            raise NotFound(f"{method} {path}: not found for this subscriber")
        return response

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Any:
        if response.status_code != 200:
            raise ClientsUnavailable(f"{what}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise ClientsUnavailable(f"{what}: HTTP 200 without JSON") from exc

    def me(self, *, access_token: str) -> MyAccount:
        """The subscriber's client and active subscriptions; NotASubscriber for staff."""
        body = self._json(self._send("GET", "/me/", access_token=access_token), "GET /me/")
        try:
            return MyAccount(
                client_id=int(body["client"]["id"]),
                name=str(body["client"]["name"]),
                plans=[MyPlan.from_dict(item) for item in body["subscriptions"]],
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ClientsUnavailable(f"the clients service returned a malformed record: {exc}") from exc

    def contracts(self, *, access_token: str, subscription_id: int) -> list[ContractVersion]:
        """Every version of the subscription's contract, newest first; NotFound when the
        subscription is not the subscriber's."""
        path = f"/subscriptions/{int(subscription_id)}/contracts/"
        versions: list[ContractVersion] = []
        page = 1
        while True:
            body = self._json(
                self._send("GET", f"{path}?page={page}", access_token=access_token), f"GET {path}"
            )
            try:
                versions += [ContractVersion.from_dict(subscription_id, item) for item in body["results"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise ClientsUnavailable(f"the clients service returned malformed contracts: {exc}") from exc
            if not body.get("next"):
                return versions
            page += 1

    def contract_pdf(
        self, *, access_token: str, subscription_id: int, version: int, language: str
    ) -> ContractFile:
        """The PDF of one version; NotFound when it does not exist or is not the subscriber's."""
        path = f"/subscriptions/{int(subscription_id)}/contracts/{int(version)}/{language}.pdf"
        response = self._send("GET", path, access_token=access_token)
        if response.status_code != 200 or response.headers.get("content-type") != "application/pdf":
            raise ClientsUnavailable(f"GET {path}: HTTP {response.status_code}")
        return ContractFile(
            filename=f"contrato-{int(subscription_id)}-v{int(version)}-{language}.pdf",
            content=response.content,
            sha256=response.headers.get("X-Content-SHA256", ""),
        )

    def contract_accept(
        self,
        *,
        access_token: str,
        subscription_id: int,
        version: int,
        language: str,
        sha256: str,
        client_ip: str | None,
    ) -> datetime | None:
        """Records the subscriber's acceptance of ``version`` (the document with ``sha256``) and
        returns when it was accepted; AcceptanceRefused when the service says no (e.g. a newer
        version exists), NotFound when it is not theirs."""
        path = f"/subscriptions/{int(subscription_id)}/contracts/{int(version)}/accept"
        response = self._send(
            "POST",
            path,
            access_token=access_token,
            json={"language": language, "sha256": sha256},
            client_ip=client_ip,
            language=language,
        )
        if response.status_code in (400, 409):
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise AcceptanceRefused(str(body.get("detail") or body.get("error") or response.text[:200]))
        if response.status_code != 201:
            raise ClientsUnavailable(f"POST {path}: HTTP {response.status_code}")
        try:
            return parse_datetime(str(response.json()["accepted_at"]))
        except (KeyError, ValueError) as exc:
            raise ClientsUnavailable(f"POST {path}: malformed acceptance: {exc}") from exc


@functools.cache
def _client_for(base_url: str, timeout: float) -> ClientsClient:
    return ClientsClient(base_url, timeout=timeout)


def clients_client() -> ClientsClient:
    """The process-wide client (httpx pools connections and is thread-safe)."""
    return _client_for(settings.ENLACE_CLIENTS_URL, float(settings.ENLACE_CLIENTS_TIMEOUT_SECONDS))
