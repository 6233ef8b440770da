"""What the agent console shows beside a conversation: the subscriber's plan, service status,
balance, last invoices and open tickets, read from the back-office services with the agent's own
access token.

Each part is fetched on its own and is tolerant: a service that is down, slow, refuses the agent
or answers in a shape this client does not know makes only that part "not available"; the
console never fails because of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from portal.identity_client import TokenRejected

logger = logging.getLogger(__name__)


class ContextUnavailable(Exception):
    """A back-office service did not give this part of the context."""


@dataclass
class ContextPart:
    key: str
    title: str
    lines: list[str] = field(default_factory=list)
    unavailable: bool = False


def _get(base_url: str, path: str, *, token: str, params: dict[str, Any] | None = None) -> Any:
    timeout = float(settings.ENLACE_CONTEXT_TIMEOUT_SECONDS)
    try:
        response = httpx.get(
            base_url.rstrip("/") + path,
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
        )
    except httpx.HTTPError as exc:
        raise ContextUnavailable(f"GET {path}: {type(exc).__name__}") from exc
    if response.status_code == 401:
        raise TokenRejected(f"GET {path}: the access token was refused")
    if response.status_code != 200:
        raise ContextUnavailable(f"GET {path}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise ContextUnavailable(f"GET {path}: not JSON") from exc


def _items(body: Any) -> list[dict[str, Any]]:
    """A list endpoint's items, paginated (``results``) or not."""
    items = body.get("results") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise ContextUnavailable("a list was expected")
    return [item for item in items if isinstance(item, dict)]


def services_part(client_id: int, token: str) -> list[str]:
    """The client's internet services: plan, speed and status (network service)."""
    body = _get(
        settings.ENLACE_NETWORK_URL, "/api/network/v1/services/", token=token, params={"client_id": client_id}
    )
    lines = []
    for item in _items(body):
        speed = item.get("speed") or {}
        status = str(item.get("status", "?"))
        reason = item.get("suspension_reason")
        speeds = f"{speed.get('download', '?')}/{speed.get('upload', '?')}"
        line = f"#{item.get('subscription_id')} · {item.get('plan_code', '?')} ({speeds}) · {status}"
        lines.append(line + (f" ({reason})" if reason else ""))
    return lines


def client_part(client_id: int, token: str) -> list[str]:
    """The client's record (clients service)."""
    body = _get(settings.ENLACE_CLIENTS_URL, f"/api/clients/v1/clients/{int(client_id)}/", token=token)
    if not isinstance(body, dict):
        raise ContextUnavailable("the client is not an object")
    name = (
        body.get("name")
        or body.get("full_name")
        or " ".join(str(body.get(k, "")) for k in ("first_name", "last_name")).strip()
    )
    lines = [str(name or f"#{client_id}")]
    for key in ("identification", "phone", "email", "address"):
        if body.get(key):
            lines.append(str(body[key]))
    return lines


def balance_part(client_id: int, token: str) -> list[str]:
    """The client's balance, and whether billing holds them overdue (billing's account)."""
    body = _get(settings.ENLACE_BILLING_URL, f"/api/billing/v1/accounts/{int(client_id)}/", token=token)
    if not isinstance(body, dict) or "balance" not in body:
        raise ContextUnavailable("no balance in the answer")
    lines = [f"USD {body['balance']}"]
    if body.get("overdue"):
        lines.append(_("Overdue"))
    if body.get("next_due_date"):
        lines.append(_("Next due date: %(date)s") % {"date": body["next_due_date"]})
    return lines


def invoices_part(client_id: int, token: str) -> list[str]:
    """The client's last invoices (billing service; newest first)."""
    body = _get(
        settings.ENLACE_BILLING_URL,
        "/api/billing/v1/invoices/",
        token=token,
        params={"client_id": client_id},
    )
    return [
        f"{item.get('number', item.get('id'))} · USD {item.get('total', '?')} · {item.get('status', '?')}"
        + (f" · {item['due_date']}" if item.get("due_date") else "")
        for item in _items(body)[:3]
    ]


def tickets_part(client_id: int, token: str) -> list[str]:
    """The client's tickets not yet resolved (support service)."""
    body = _get(
        settings.ENLACE_SUPPORT_URL, "/api/support/v1/tickets", token=token, params={"client_id": client_id}
    )
    return [
        f"#{item.get('id')} {item.get('subject', '')} · {item.get('status', '?')}"
        for item in _items(body)
        if item.get("status") not in ("resolved", "closed")
    ]


def subscriber_context(*, client_id: int, token: str) -> list[ContextPart]:
    """Every part of the client's context, fetched side by side; a part that fails is marked
    unavailable. TokenRejected (the agent's token refused) is raised so the caller can refresh."""
    parts: list[tuple[str, str, Callable[[int, str], list[str]]]] = [
        ("client", _("Client"), client_part),
        ("services", _("Plan and service status"), services_part),
        ("balance", _("Balance"), balance_part),
        ("invoices", _("Last invoices"), invoices_part),
        ("tickets", _("Open tickets"), tickets_part),
    ]
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        futures = [(key, title, pool.submit(fetch, client_id, token)) for key, title, fetch in parts]
    result = []
    for key, title, future in futures:
        try:
            result.append(ContextPart(key=key, title=title, lines=future.result()))
        except TokenRejected:
            raise
        except (ContextUnavailable, KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.info("context part %s of client %s not available: %s", key, client_id, exc)
            result.append(ContextPart(key=key, title=title, unavailable=True))
    return result
