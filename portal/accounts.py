"""Signing in and out through identity, with the tokens kept server-side in the session.

The browser only holds the session cookie. The access token is refreshed before it expires
(or when identity refuses it); when the refresh token is refused too the session has ended
and ``SessionExpired`` tells the caller to send the user back to sign-in.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.http import HttpRequest

from portal.conf import settings
from portal.identity_client import (
    IdentityUnavailable,
    IdentityUser,
    TokenPair,
    TokenRejected,
    identity_client,
)

logger = logging.getLogger(__name__)

SESSION_TOKENS = "identity_tokens"
SESSION_USER = "identity_user"
# What a notification socket receives when its session ended (its consumer's ``session_revoked``).
SESSION_REVOKED_EVENT = "session.revoked"

# How long a request waits for a concurrent request of the same session to finish refreshing.
_REFRESH_WAIT_SECONDS = 5.0

T = TypeVar("T")


class SessionExpired(Exception):
    """Identity no longer accepts this session's tokens; the user must sign in again."""


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The browser's address: REMOTE_ADDR, or the X-Forwarded-For entry our trusted proxies added.

    Identity counts failed sign-ins per address and believes the one the portal forwards, so
    this must be the browser's own address, not the portal's nor one the browser made up: only
    the entry the Nth trusted proxy appended counts, and only when it is an IP address.
    """
    hops = settings.ENLACE_PORTAL_TRUSTED_PROXIES
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            address = _valid_ip(forwarded[-hops])
            if address is not None:
                return address
    return _valid_ip(request.META.get("REMOTE_ADDR") or "")


def _tokens_store(session: SessionBase, pair: TokenPair, now: float) -> None:
    session[SESSION_TOKENS] = {
        "access": pair.access_token,
        "refresh": pair.refresh_token,
        "access_expires_at": now + pair.expires_in,
    }


def account_sign_in(request: HttpRequest, *, email: str, password: str) -> IdentityUser:
    """Signs the browser in as the identity user with these credentials and returns that user.

    Raises InvalidCredentials, Throttled or IdentityUnavailable; nothing is stored then.
    """
    client = identity_client()
    pair = client.token_obtain(email=email, password=password, client_ip=client_ip(request))
    user = client.me(access_token=pair.access_token)
    # A new session key on sign-in, so a key planted before it (session fixation) is worthless.
    request.session.cycle_key()
    _tokens_store(request.session, pair, time.time())
    request.session[SESSION_USER] = user.to_dict()
    return user


def account_sign_out(request: HttpRequest) -> None:
    """Ends the identity session (revoking its refresh token) and forgets this browser's session."""
    tokens = request.session.get(SESSION_TOKENS)
    if tokens:
        try:
            identity_client().logout(refresh_token=tokens["refresh"], access_token=tokens["access"])
        except IdentityUnavailable:
            # The browser is signed out anyway; the refresh token dies at its expiry.
            logger.warning("identity unavailable at sign-out; its refresh token expires on its own")
    session_key = request.session.session_key
    request.session.flush()
    if session_key:
        # The sockets this session opened (other tabs) close too.
        session_sockets_close(session_key)


def session_sockets_close(session_key: str) -> None:
    """Tells every notification socket of the portal session ``session_key`` to close."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(session_group(session_key), {"type": SESSION_REVOKED_EVENT})


def session_group(session_key: str) -> str:
    """The channel-layer group every notification socket of one portal session joins.

    Hashed: group names travel through Redis and show in its keys, session keys must not.
    """
    return "session-" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def session_identity_alive(session_key: str | None, *, client_ip: str | None = None) -> bool:
    """Whether identity still accepts the identity session behind the portal session
    ``session_key`` (False once it was signed out, revoked by a password change or reset,
    or the account deactivated); refreshes its access token when needed, as a request would.

    Reads the session afresh from the store: a long-lived socket's copy would hold a refresh
    token that requests have rotated since, and presenting that one would revoke the family.
    Raises IdentityUnavailable when identity cannot tell.
    """
    if not session_key:
        return False
    session: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if not session.get(SESSION_TOKENS) or not session.get(SESSION_USER):
        return False
    try:
        _session_call(session, lambda token: identity_client().me(access_token=token), client_ip=client_ip)
    except SessionExpired:
        return False
    return True


def signed_in_user(request: HttpRequest) -> IdentityUser | None:
    """The user this session signed in as (as identity described them at sign-in), or None."""
    body = request.session.get(SESSION_USER)
    return IdentityUser.from_dict(body) if body else None


def signed_in_user_refresh(request: HttpRequest, user: IdentityUser) -> None:
    """Keeps the session's copy of the user in step with what identity just returned."""
    request.session[SESSION_USER] = user.to_dict()


def with_access_token(request: HttpRequest, call: Callable[[str], T]) -> T:
    """``call(access_token)`` with a valid token, refreshed first if it is about to expire and
    once more if identity refuses it; raises SessionExpired when the session cannot go on."""
    return _session_call(request.session, call, client_ip=client_ip(request))


def _session_call(session: SessionBase, call: Callable[[str], T], *, client_ip: str | None) -> T:
    token = _access_token_fresh(session, client_ip=client_ip)
    try:
        return call(token)
    except TokenRejected:
        token = _tokens_refresh(session, spent_access=token, client_ip=client_ip)
    try:
        return call(token)
    except TokenRejected:
        raise SessionExpired("identity refused a freshly refreshed access token") from None


def _access_token_fresh(session: SessionBase, *, client_ip: str | None) -> str:
    tokens = session.get(SESSION_TOKENS)
    if not tokens:
        raise SessionExpired("this session holds no tokens")
    margin = settings.ENLACE_PORTAL_TOKEN_REFRESH_MARGIN_SECONDS
    if tokens["access_expires_at"] - margin > time.time():
        return str(tokens["access"])
    return _tokens_refresh(session, spent_access=str(tokens["access"]), client_ip=client_ip)


def _stored_tokens(session_key: str | None) -> dict[str, Any] | None:
    if not session_key:
        return None
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return store.get(SESSION_TOKENS)


def _tokens_refresh(session: SessionBase, *, spent_access: str, client_ip: str | None) -> str:
    """A new access token for this session; raises SessionExpired when identity refuses the refresh.

    Identity treats a refresh token used twice as stolen and revokes the whole family, so two
    requests of one session (htmx makes parallel ones, and open notification sockets check
    theirs) must not both refresh: one holds a lock and the others wait for, and adopt, the
    pair it stores.
    """
    lock_key = f"portal:refresh-lock:{session.session_key}"
    deadline = time.monotonic() + _REFRESH_WAIT_SECONDS
    while not cache.add(lock_key, "1", timeout=int(_REFRESH_WAIT_SECONDS) + 5):
        stored = _stored_tokens(session.session_key)
        if stored and stored["access"] != spent_access:
            session[SESSION_TOKENS] = stored
            return str(stored["access"])
        if time.monotonic() > deadline:
            raise SessionExpired("another request of this session did not finish refreshing in time")
        time.sleep(0.05)
    try:
        stored = _stored_tokens(session.session_key)
        if stored and stored["access"] != spent_access:
            session[SESSION_TOKENS] = stored
            return str(stored["access"])
        tokens = session.get(SESSION_TOKENS)
        if not tokens:
            raise SessionExpired("this session holds no tokens")
        try:
            pair = identity_client().token_refresh(refresh_token=tokens["refresh"], client_ip=client_ip)
        except TokenRejected:
            raise SessionExpired("identity refused the refresh token") from None
        _tokens_store(session, pair, time.time())
        # Saved now, not at the end of the response, so waiting requests see the new pair.
        session.save()
        return pair.access_token
    finally:
        cache.delete(lock_key)
