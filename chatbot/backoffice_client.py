"""The back-office APIs the bot's actions call, behind one small typed client (no Django here).

The bot authenticates as an OAuth2 client (client credentials at identity's ``/o/token/``) and
gets only the scopes its application was granted; the token is kept until shortly before it
expires. Every method takes the client id the signed conversation metadata names: the caller
(an action) is responsible for having verified it. Errors are typed so that an action can
tell "this does not exist" from "try again later":

- :class:`Unavailable`: the service is down, not deployed, has nothing for the client (404),
  timed out or answered 5xx; retrying later may help.
- :class:`Refused`: the service understood and said no (409, 400, 403); retrying will not help.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

# Where each service answers (one place, so an API that moves is one line to change).
NETWORK = "/api/network/v1"
SUPPORT = "/api/support/v1"
BILLING = "/api/billing/v1"
CLIENTS = "/api/clients/v1"
TOKEN = "/o/token/"
# An invoice in one of these still has something to pay (billing's OPEN_STATUSES).
OPEN_INVOICE_STATUSES = ("issued", "partially_paid", "overdue")
# Each service may run on its own host (docker-compose); ENLACE_<SERVICE>_URL overrides the
# back office's one URL (``make run``: every service in one process) for that service's paths.
SERVICE_OF_PREFIX = {
    TOKEN: "IDENTITY",
    NETWORK: "NETWORK",
    SUPPORT: "SUPPORT",
    BILLING: "BILLING",
    CLIENTS: "CLIENTS",
}
# A token is renewed this long before it expires, so a call never carries one that lapses in flight.
TOKEN_MARGIN = 30.0


class BackofficeError(Exception):
    """A back-office call did not give the bot what it asked for."""


class Unavailable(BackofficeError):
    """The service could not answer now (down, not deployed, timed out, 5xx): later may work."""


class Refused(BackofficeError):
    """The service refused the request (e.g. 409 ``terminated``); ``code`` is its error code."""

    def __init__(self, message: str, *, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class ServiceState:
    """A subscriber's internet service as the network service knows it."""

    subscription_id: int
    status: str  # pending, active, suspended, terminated
    suspension_reason: str
    plan_code: str
    download: str
    upload: str
    online: bool | None
    last_seen_at: str | None
    in_sync: bool


@dataclass(frozen=True)
class Diagnosis:
    """A line diagnosis the netagent ran on the router (``completed`` False while it runs)."""

    request_id: str
    completed: bool
    online: bool | None = None
    address: str = ""
    uptime: str = ""
    error: str = ""


@dataclass(frozen=True)
class Ticket:
    id: int
    subject: str
    status: str
    created_at: str


@dataclass(frozen=True)
class Balance:
    """What the client owes (negative: credit) and their next invoice, if one is pending."""

    amount: Decimal
    next_invoice_number: str | None = None
    next_invoice_total: Decimal | None = None
    next_due_date: str | None = None


@dataclass(frozen=True)
class PaymentLink:
    url: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class Plan:
    name: str
    download: str
    upload: str
    monthly_price: Decimal | None = None


@dataclass(frozen=True)
class Contract:
    """A contract document: the subscriber downloads it from the portal, which holds their token."""

    subscription_id: int
    version: int
    language: str


@dataclass
class _Token:
    value: str = ""
    expires_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class BackofficeClient:
    """Calls the back office as the bot's OAuth2 client; safe to share between threads."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        service_urls: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # e.g. {"NETWORK": "http://network:8004"}: where that service's paths go instead.
        self._service_urls = {k: v.rstrip("/") for k, v in (service_urls or {}).items() if v}
        self._credentials = (client_id, client_secret)
        self._http = httpx.Client(timeout=timeout)
        self._token = _Token()

    def _url(self, path: str) -> str:
        for prefix, service in SERVICE_OF_PREFIX.items():
            if path.startswith(prefix):
                return self._service_urls.get(service, self.base_url) + path
        return self.base_url + path

    @classmethod
    def from_env(cls) -> BackofficeClient:
        """The client configured by ``ENLACE_BACKOFFICE_URL`` and ``ENLACE_CHATBOT_CLIENT_ID`` /
        ``_SECRET`` (or ``_SECRET_FILE``); raises RuntimeError naming what is missing."""
        secret = os.environ.get("ENLACE_CHATBOT_CLIENT_SECRET", "")
        secret_file = os.environ.get("ENLACE_CHATBOT_CLIENT_SECRET_FILE")
        if not secret and secret_file:
            with open(secret_file, encoding="utf-8") as handle:
                secret = handle.read().strip()
        values = {
            "ENLACE_BACKOFFICE_URL": os.environ.get("ENLACE_BACKOFFICE_URL", ""),
            "ENLACE_CHATBOT_CLIENT_ID": os.environ.get("ENLACE_CHATBOT_CLIENT_ID", ""),
            "ENLACE_CHATBOT_CLIENT_SECRET": secret,
        }
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise RuntimeError(f"the action server needs {', '.join(missing)}")
        return cls(
            base_url=values["ENLACE_BACKOFFICE_URL"],
            client_id=values["ENLACE_CHATBOT_CLIENT_ID"],
            client_secret=values["ENLACE_CHATBOT_CLIENT_SECRET"],
            service_urls={
                service: os.environ.get(f"ENLACE_{service}_URL", "") for service in SERVICE_OF_PREFIX.values()
            },
        )

    # --- token -----------------------------------------------------------------------------------
    def _bearer(self, *, renew: bool = False) -> str:
        with self._token.lock:
            if renew or time.monotonic() >= self._token.expires_at:
                try:
                    response = self._http.post(
                        self._url(TOKEN), data={"grant_type": "client_credentials"}, auth=self._credentials
                    )
                except httpx.HTTPError as exc:
                    raise Unavailable(f"identity unreachable: {exc}") from exc
                if response.status_code != 200:
                    raise Unavailable(f"identity refused the bot's credentials ({response.status_code})")
                body = response.json()
                self._token.value = body["access_token"]
                lifetime = float(body.get("expires_in", 300))
                self._token.expires_at = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN)
            return self._token.value

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of ``method path``; a 401 renews the token once (it may have been revoked)."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._bearer(renew=attempt == 2)}"}
            try:
                response = self._http.request(method, self._url(path), headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                raise Unavailable(f"{method} {path}: {exc}") from exc
            if response.status_code == 401 and attempt == 1:
                continue
            break
        if response.status_code >= 500 or response.status_code in (401, 404, 405):
            # 404 on a route: the service is not deployed (yet); the bot says "not available now".
            raise Unavailable(f"{method} {path}: {response.status_code}")
        if response.status_code >= 400:
            body = _json_or_empty(response)
            raise Refused(
                str(body.get("detail") or response.text[:200]),
                status=response.status_code,
                code=str(body.get("error", "")),
            )
        return _json_or_empty(response) if response.content else {}

    # --- network -----------------------------------------------------------------------------------
    def services_of(self, client_id: int) -> list[ServiceState]:
        """The client's live (not terminated) internet services."""
        body = self._call("GET", f"{NETWORK}/services/", params={"client_id": client_id})
        return [
            ServiceState(
                subscription_id=item["subscription_id"],
                status=item["status"],
                suspension_reason=item.get("suspension_reason") or "",
                plan_code=item["plan_code"],
                download=item["speed"]["download"],
                upload=item["speed"]["upload"],
                online=item.get("online"),
                last_seen_at=item.get("last_seen_at"),
                in_sync=bool(item.get("in_sync")),
            )
            for item in body["results"]
            if item["client_id"] == client_id and item["status"] != "terminated"
        ]

    def diagnose(self, subscription_id: int, *, wait: float, poll: float = 0.25) -> Diagnosis:
        """Asks the netagent to check the line on its router and waits up to ``wait`` seconds
        for the result (a Diagnosis with ``completed`` False when it did not come in time)."""
        started = self._call("POST", f"{NETWORK}/services/{subscription_id}/diagnose")
        path = f"{NETWORK}/services/{subscription_id}/diagnosis/{started['request_id']}"
        deadline = time.monotonic() + wait
        while True:
            body = self._call("GET", path)
            if body["status"] == "completed" or time.monotonic() >= deadline:
                return Diagnosis(
                    request_id=str(body["request_id"]),
                    completed=body["status"] == "completed",
                    online=body.get("online"),
                    address=body.get("address") or "",
                    uptime=body.get("uptime") or "",
                    error=body.get("error") or "",
                )
            time.sleep(poll)

    # --- support -------------------------------------------------------------------------------------
    def ticket_open(self, *, client_id: int, subject: str, body: str, conversation_id: str | None) -> Ticket:
        """Opens a ticket for the client, marked as coming from the bot in this conversation."""
        data: dict[str, Any] = {
            "client_id": client_id,
            "subject": subject[:200],
            "body": body,
            "source": "bot",
        }
        if conversation_id:
            data["conversation_id"] = conversation_id[:100]
        return _ticket(self._call("POST", f"{SUPPORT}/tickets", json=data))

    def tickets_of(self, client_id: int, *, limit: int = 3) -> list[Ticket]:
        """The client's most recent tickets, newest first."""
        body = self._call("GET", f"{SUPPORT}/tickets", params={"client_id": client_id})
        return [_ticket(item) for item in body["results"] if item["client_id"] == client_id][:limit]

    # --- billing ---------------------------------------------------------------------------------------
    def balance_of(self, client_id: int) -> Balance:
        """The client's balance (``accounts/<id>/``) and the open invoice that falls due first
        (``invoices/?client_id=``, newest first: the open ones are on the first page)."""
        account = self._call("GET", f"{BILLING}/accounts/{client_id}/")
        invoices = self._call("GET", f"{BILLING}/invoices/", params={"client_id": client_id})
        open_invoices = [
            item
            for item in invoices["results"]
            if item["client_id"] == client_id and item["status"] in OPEN_INVOICE_STATUSES
        ]
        upcoming = min(open_invoices, key=lambda item: str(item["due_date"]), default=None)
        return Balance(
            amount=Decimal(str(account["balance"])),
            next_invoice_number=upcoming["number"] if upcoming else None,
            next_invoice_total=Decimal(str(upcoming["total"])) if upcoming else None,
            next_due_date=upcoming["due_date"] if upcoming else None,
        )

    def payment_link(self, client_id: int, *, gateway: str, return_url: str) -> PaymentLink:
        """A checkout of the client's whole balance at ``gateway`` (``checkouts/``); the payer
        comes back to ``return_url``. Refused with code ``nothing_to_pay`` when nothing is owed."""
        body = self._call(
            "POST",
            f"{BILLING}/checkouts/",
            json={
                "client_id": client_id,
                "gateway": gateway,
                "success_url": return_url,
                "cancel_url": return_url,
            },
        )
        return PaymentLink(url=body["redirect_url"], amount=Decimal(str(body["amount"])))

    # --- clients -----------------------------------------------------------------------------------------
    def _subscriptions_of(self, client_id: int) -> list[dict[str, Any]]:
        body = self._call(
            "GET", f"{CLIENTS}/subscriptions/", params={"client_id": client_id, "status": "active"}
        )
        return [item for item in body["results"] if item["client_id"] == client_id]

    def plan_of(self, client_id: int) -> Plan:
        """The plan of the client's first active subscription (``subscriptions/?client_id=``)."""
        subscriptions = self._subscriptions_of(client_id)
        if not subscriptions:
            raise Refused("the client has no active subscription", status=404, code="not_found")
        plan = subscriptions[0]["plan"]
        return Plan(
            name=plan.get("name") or plan["code"],
            download=plan["download"],
            upload=plan["upload"],
            monthly_price=Decimal(str(plan["monthly_price"])) if plan.get("monthly_price") else None,
        )

    def contract_of(self, client_id: int, *, language: str) -> Contract:
        """The latest version of the contract of the client's first active subscription
        (``subscriptions/<id>/contracts/``, newest first), in ``language`` when it exists."""
        subscriptions = self._subscriptions_of(client_id)
        if not subscriptions:
            raise Refused("the client has no active subscription", status=404, code="not_found")
        subscription_id = subscriptions[0]["id"]
        documents = self._call("GET", f"{CLIENTS}/subscriptions/{subscription_id}/contracts/")["results"]
        if not documents:
            raise Refused("the client has no contract yet", status=404, code="not_found")
        latest = [d for d in documents if d["version"] == documents[0]["version"]]
        document = next((d for d in latest if d["language"] == language), latest[0])
        return Contract(
            subscription_id=subscription_id, version=int(document["version"]), language=document["language"]
        )


def _ticket(item: dict[str, Any]) -> Ticket:
    return Ticket(
        id=item["id"], subject=item["subject"], status=item["status"], created_at=item["created_at"]
    )


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
