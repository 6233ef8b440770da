"""Login throttling: failures counted per account and per client IP in the "tokens" cache.

After ``ACCOUNT_LIMIT`` failures for one e-mail, or ``IP_LIMIT`` from one IP, within
``WINDOW_SECONDS``, the account (or IP) is locked for ``WINDOW_SECONDS``: every attempt is
refused with a Retry-After, even with the right password, so guessing cannot go on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import caches

ACCOUNT_LIMIT = 5
IP_LIMIT = 20
WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Lock:
    scope: str  # "account" or "ip"
    retry_after: float


def _cache() -> Any:
    return caches["tokens"]


def _account_key(kind: str, scope: str, email: str) -> str:
    # Hashed so arbitrary input never forms odd cache keys.
    return f"throttle:{scope}:{kind}:account:{hashlib.sha256(email.lower().encode()).hexdigest()}"


def _ip_key(kind: str, scope: str, ip: str) -> str:
    return f"throttle:{scope}:{kind}:ip:{ip}"


def active_lock(*, scope: str, email: str, ip: str | None, now: datetime) -> Lock | None:
    """The lock barring this attempt, if any."""
    cache = _cache()
    candidates = [("account", _account_key("lock", scope, email))]
    if ip:
        candidates.append(("ip", _ip_key("lock", scope, ip)))
    for which, key in candidates:
        until = cache.get(key)
        if until is not None and until > now.timestamp():
            return Lock(scope=which, retry_after=until - now.timestamp())
    return None


def _count(key: str) -> int:
    cache = _cache()
    cache.add(key, 0, WINDOW_SECONDS)  # the window starts at the first failure
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        return 1


def record_failure(*, scope: str, email: str, ip: str | None, now: datetime) -> Lock | None:
    """Counts a failed attempt; returns the lock it triggered, if it crossed a limit."""
    cache = _cache()
    until = now.timestamp() + WINDOW_SECONDS
    triggered: Lock | None = None
    # add() only succeeds for the attempt that crosses the limit: one lockout row, not many.
    account_failures = _count(_account_key("fail", scope, email))
    if account_failures >= ACCOUNT_LIMIT and cache.add(
        _account_key("lock", scope, email), until, WINDOW_SECONDS
    ):
        triggered = Lock(scope="account", retry_after=WINDOW_SECONDS)
    ip_failures = _count(_ip_key("fail", scope, ip)) if ip else 0
    if ip and ip_failures >= IP_LIMIT and cache.add(_ip_key("lock", scope, ip), until, WINDOW_SECONDS):
        triggered = triggered or Lock(scope="ip", retry_after=WINDOW_SECONDS)
    return triggered


def record_success(*, scope: str, email: str) -> None:
    """A successful attempt clears the account's failure count (not the IP's)."""
    _cache().delete(_account_key("fail", scope, email))
