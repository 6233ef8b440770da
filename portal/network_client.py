"""The portal's HTTP client of the network service (``/api/network/v1/``).

Subscribers only read their own services, with their own access token. A 401 raises identity's
``TokenRejected`` so ``accounts.with_access_token`` refreshes the token and retries, as it does
for identity's own calls.
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

_API = "/api/network/v1"


class NetworkError(Exception):
    """Base of the network client's errors; ``retryable`` says whether trying later can help."""

    retryable = False


class NetworkUnavailable(NetworkError):
    """The network service did not answer, or answered with something unexpected."""

    retryable = True


class NotASubscriber(NetworkError):
    """The signed-in user has no client of their own (staff), so no services either."""


class ServiceNotFound(NetworkError):
    """The subscription has no service, or it is not the signed-in subscriber's."""


@dataclass(frozen=True)
class SubscriberService:
    """One of the subscriber's internet services, as the network service reports it."""

    subscription_id: int
    status: str
    suspension_reason: str
    plan_code: str
    download: str
    upload: str
    # Whether the router already applied the latest change.
    applied: bool
    online: bool | None
    last_seen_at: datetime | None

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> SubscriberService:
        speed = body.get("speed") or {}
        last_seen = body.get("last_seen_at")
        return cls(
            subscription_id=int(body["subscription_id"]),
            status=str(body["status"]),
            suspension_reason=str(body.get("suspension_reason") or ""),
            plan_code=str(body.get("plan_code") or ""),
            download=str(speed.get("download") or ""),
            upload=str(speed.get("upload") or ""),
            applied=bool(body.get("applied")),
            online=None if body.get("online") is None else bool(body["online"]),
            last_seen_at=parse_datetime(last_seen) if last_seen else None,
        )


class NetworkClient:
    """Calls the network service at ``base_url``; methods raise NetworkError subclasses (and
    TokenRejected for a refused access token)."""

    def __init__(self, base_url: str, *, timeout: float = 3.0, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + _API,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, *, access_token: str) -> Any:
        try:
            response = self._http.get(path, headers={"Authorization": f"Bearer {access_token}"})
        except httpx.HTTPError as exc:
            raise NetworkUnavailable(f"GET {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 401:
            raise TokenRejected("the network service refused the access token")
        if response.status_code == 403:
            raise NotASubscriber("the network service says this user has no client")
        if response.status_code == 404:
            raise ServiceNotFound(f"GET {path}: no such service for this subscriber")
        if response.status_code != 200:
            raise NetworkUnavailable(f"GET {path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise NetworkUnavailable(f"GET {path}: HTTP 200 without JSON") from exc

    def my_services(self, *, access_token: str) -> list[SubscriberService]:
        """The subscriber's services that are not terminated; NotASubscriber for staff."""
        body = self._get("/me/services/", access_token=access_token)
        try:
            return [SubscriberService.from_dict(item) for item in body]
        except (KeyError, TypeError, ValueError) as exc:
            raise NetworkUnavailable(f"the network service returned malformed services: {exc}") from exc

    def my_service(self, *, access_token: str, subscription_id: int) -> SubscriberService:
        """One of the subscriber's services; ServiceNotFound when it is not theirs."""
        body = self._get(f"/me/services/{int(subscription_id)}/", access_token=access_token)
        try:
            return SubscriberService.from_dict(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise NetworkUnavailable(f"the network service returned a malformed service: {exc}") from exc


@functools.cache
def _client_for(base_url: str, timeout: float) -> NetworkClient:
    return NetworkClient(base_url, timeout=timeout)


def network_client() -> NetworkClient:
    """The process-wide client (httpx pools connections and is thread-safe)."""
    return _client_for(settings.ENLACE_NETWORK_URL, float(settings.ENLACE_NETWORK_TIMEOUT_SECONDS))
