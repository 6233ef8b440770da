"""Throttling: attempts counted per account and per client IP in the "tokens" cache.

After ``ACCOUNT_LIMIT`` counted attempts for one e-mail, or ``IP_LIMIT`` from one IP, within
``WINDOW_SECONDS``, the account (or IP) is locked for ``WINDOW_SECONDS``: every attempt is
refused with a Retry-After, even with the right password, so guessing cannot go on.

Each ``scope`` counts apart: ``login`` counts failed sign-ins (API, identity's pages and the
admin alike), ``reset`` counts password-reset requests, ``activation`` failed activations. So
asking for reset links never locks anyone out of signing in.

A lock holds its end time as its value and the check compares it with the caller's ``now``, so
an injected clock (tests, time-machine) sees the lock end without waiting for the cache's TTL.
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
    candidates = [("account", _account_key("lock", scope, email), _account_key("fail", scope, email))]
    if ip:
        candidates.append(("ip", _ip_key("lock", scope, ip), _ip_key("fail", scope, ip)))
    for which, key, count_key in candidates:
        until = cache.get(key)
        if until is None:
            continue
        if until > now.timestamp():
            return Lock(scope=which, retry_after=until - now.timestamp())
        # Over, though the cache has not dropped it yet: counting starts afresh, as after the TTL.
        cache.delete_many([key, count_key])
    return None


def _count(key: str) -> int:
    cache = _cache()
    cache.add(key, 0, WINDOW_SECONDS)  # the window starts at the first failure
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        return 1


def _lock(*, lock_key: str, now: datetime) -> bool:
    """Locks ``lock_key`` until a window from ``now``; False when a live lock already holds it."""
    cache = _cache()
    until = now.timestamp() + WINDOW_SECONDS
    # add() only succeeds for the attempt that crosses the limit: one lockout row, not many.
    if cache.add(lock_key, until, WINDOW_SECONDS):
        return True
    current = cache.get(lock_key)
    if current is not None and current > now.timestamp():
        return False
    # The lock's time is over though the cache has not dropped the key yet (a clock that moved
    # on faster than the cache's TTL): this attempt starts the new lock.
    cache.set(lock_key, until, WINDOW_SECONDS)
    return True


def record_failure(*, scope: str, email: str, ip: str | None, now: datetime) -> Lock | None:
    """Counts an attempt against the limits; returns the lock it triggered, if it crossed one."""
    triggered: Lock | None = None
    account_count = _account_key("fail", scope, email)
    if _count(account_count) >= ACCOUNT_LIMIT and _lock(lock_key=_account_key("lock", scope, email), now=now):
        triggered = Lock(scope="account", retry_after=WINDOW_SECONDS)
    if ip:
        ip_count = _ip_key("fail", scope, ip)
        if _count(ip_count) >= IP_LIMIT and _lock(lock_key=_ip_key("lock", scope, ip), now=now):
            triggered = triggered or Lock(scope="ip", retry_after=WINDOW_SECONDS)
    return triggered


def record_success(*, scope: str, email: str) -> None:
    """A successful attempt clears the account's failure count (not the IP's)."""
    _cache().delete(_account_key("fail", scope, email))


def locks_clear(*, scope: str, email: str | None = None, ip: str | None = None) -> bool:
    """Lifts the lock and the count of ``email`` and/or ``ip``; True when a lock was lifted."""
    cache = _cache()
    keys: list[tuple[str, str]] = []
    if email:
        keys.append((_account_key("lock", scope, email), _account_key("fail", scope, email)))
    if ip:
        keys.append((_ip_key("lock", scope, ip), _ip_key("fail", scope, ip)))
    lifted = False
    for lock_key, count_key in keys:
        lifted = bool(cache.delete(lock_key)) or lifted
        cache.delete(count_key)
    return lifted
