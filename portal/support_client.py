"""The portal's HTTP client of the support service (``/api/support/v1/``).

The subscriber's own access token goes with every call, so the support service decides what
they may see (their client's tickets only). A 401 raises identity's ``TokenRejected`` so
``accounts.with_access_token`` refreshes the token and retries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.utils.dateparse import parse_datetime

from portal.identity_client import TokenRejected

_API = "/api/support/v1"


class SupportError(Exception):
    """Base of the support client's errors; ``retryable`` says whether trying later can help."""

    retryable = False


class SupportUnavailable(SupportError):
    """The support service did not answer, or answered with something unexpected."""

    retryable = True


class SupportRefused(SupportError):
    """The support service refused the input; ``fields`` holds its per-field messages."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


@dataclass(frozen=True)
class TicketSummary:
    id: int
    subject: str
    status: str
    created_at: datetime | None

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> TicketSummary:
        created = body.get("created_at")
        return cls(
            id=int(body["id"]),
            subject=str(body["subject"]),
            status=str(body["status"]),
            created_at=parse_datetime(created) if created else None,
        )


class SupportClient:
    """Calls the support service at ``base_url``; methods raise SupportError subclasses (and
    TokenRejected for a refused access token)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + _API,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def _call(self, method: str, path: str, *, access_token: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(
                method, path, headers={"Authorization": f"Bearer {access_token}"}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise SupportUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 401:
            raise TokenRejected("the support service refused the access token")
        if response.status_code in (400, 403):
            body = _json(response)
            raise SupportRefused(str(body.get("detail", "")), body.get("fields"))
        if response.status_code not in (200, 201):
            raise SupportUnavailable(f"{method} {path}: HTTP {response.status_code}")
        return _json(response)

    def my_tickets(self, *, access_token: str) -> list[TicketSummary]:
        """The signed-in subscriber's tickets, newest first (the first page)."""
        body = self._call("GET", "/tickets", access_token=access_token)
        try:
            return [TicketSummary.from_dict(item) for item in body["results"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise SupportUnavailable(f"the support service returned malformed tickets: {exc}") from exc

    def ticket_open(self, *, access_token: str, subject: str, body: str) -> TicketSummary:
        """Opens a ticket for the subscriber's own client (from the portal form)."""
        answer = self._call(
            "POST", "/tickets", access_token=access_token, json={"subject": subject, "body": body}
        )
        return TicketSummary.from_dict(answer)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise SupportUnavailable(f"HTTP {response.status_code} without JSON") from exc


@functools.cache
def _client_for(base_url: str, timeout: float) -> SupportClient:
    return SupportClient(base_url, timeout=timeout)


def support_client() -> SupportClient:
    """The process-wide client (httpx pools connections and is thread-safe)."""
    return _client_for(settings.ENLACE_SUPPORT_URL, float(settings.ENLACE_SUPPORT_TIMEOUT_SECONDS))
