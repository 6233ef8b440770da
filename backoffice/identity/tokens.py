"""Access tokens (RS256 JWTs) and rotating refresh tokens, with revocation in the "tokens" cache.

A login starts a *family* (``sid``). Each refresh marks the presented refresh token used and
issues a new pair in the same family; presenting a used refresh token again means it leaked,
so the whole family is revoked: its refresh tokens and every access token (``jti``) it issued.

Cache keys (in the "tokens" cache, Redis in production):

- ``refresh:<sha256>``      → {"sid", "user_id"}, TTL = refresh lifetime
- ``refresh-used:<sha256>`` → 1, set with ``add`` (atomic) when the token is rotated
- ``family:<sid>``          → {"user_id", "revoked", "jtis": {jti: exp}}, TTL = refresh lifetime
- ``user-families:<uid>``   → [sid, ...]
- ``revoked-jti:<jti>``     → 1, TTL = remaining lifetime of the access token (read by every service)
- ``oauth-access:<sha256>`` → {"jti", "exp"} of an access JWT issued through OAuth2 (django-oauth-toolkit
  keeps only the token's SHA-256), so deleting DOT's row can revoke the JWT everywhere

OAuth2 refresh tokens live in django-oauth-toolkit's tables, not here; they die with the user's
login families (:func:`revoke_user_families`, :func:`revoke_user_oauth_tokens`).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.core.cache import caches
from django.db import router, transaction
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from backoffice.access.revocation import revoked_jti_key
from backoffice.identity import keys
from backoffice.identity.models import Role, User


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    sid: str


@dataclass(frozen=True)
class RefreshOutcome:
    """What a presented refresh token turned out to be."""

    pair: TokenPair | None
    problem: str | None  # None, "invalid_token" or "token_reused"
    user_id: int | None = None


def _cache() -> Any:
    return caches["tokens"]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sign_claims(claims: dict[str, Any]) -> str:
    """Signs ``claims`` with the current key (header ``kid``)."""
    key = keys.signing_key()
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def base_claims(*, subject: str, now: datetime, lifetime: int) -> dict[str, Any]:
    issued = int(now.timestamp())
    return {
        "iss": settings.ENLACE_JWT_ISSUER,
        "aud": settings.ENLACE_JWT_AUDIENCE,
        "sub": subject,
        "jti": uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + lifetime,
        "typ": "access",
    }


def access_token_for_user(*, user: User, sid: str, now: datetime) -> tuple[str, dict[str, Any]]:
    """An access JWT for ``user`` in family ``sid``; returns the token and its claims."""
    claims = base_claims(subject=str(user.pk), now=now, lifetime=settings.ENLACE_ACCESS_TOKEN_SECONDS)
    claims["roles"] = list(user.roles)
    claims["sid"] = sid
    if Role.SUBSCRIBER.value in user.roles and user.client_id is not None:
        claims["client_id"] = user.client_id
    return sign_claims(claims), claims


def _issue_pair(*, user: User, sid: str, now: datetime) -> TokenPair:
    cache = _cache()
    lifetime = settings.ENLACE_REFRESH_TOKEN_SECONDS
    access, claims = access_token_for_user(user=user, sid=sid, now=now)
    family = cache.get(f"family:{sid}") or {"user_id": user.pk, "revoked": False, "jtis": {}}
    family["jtis"][claims["jti"]] = claims["exp"]
    cache.set(f"family:{sid}", family, lifetime)
    refresh = secrets.token_urlsafe(32)
    cache.set(f"refresh:{_hash(refresh)}", {"sid": sid, "user_id": user.pk}, lifetime)
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=settings.ENLACE_ACCESS_TOKEN_SECONDS,
        sid=sid,
    )


def login_pair(*, user: User, now: datetime) -> TokenPair:
    """A new family for a fresh login, with its first access and refresh tokens."""
    cache = _cache()
    sid = uuid.uuid4().hex
    families = [s for s in (cache.get(f"user-families:{user.pk}") or []) if cache.get(f"family:{s}")]
    families.append(sid)
    cache.set(f"user-families:{user.pk}", families, settings.ENLACE_REFRESH_TOKEN_SECONDS)
    return _issue_pair(user=user, sid=sid, now=now)


def refresh_lookup(refresh_token: str) -> dict[str, Any] | None:
    """The record of a refresh token still alive (``sid``, ``user_id``), or None."""
    record = _cache().get(f"refresh:{_hash(refresh_token)}")
    if record is None:
        return None
    family = _cache().get(f"family:{record['sid']}")
    if family is None or family["revoked"]:
        return None
    return dict(record)


def rotate(*, refresh_token: str, user_loader: Any, now: datetime) -> RefreshOutcome:
    """Swaps a refresh token for a new pair; a reused one revokes its family (``token_reused``)."""
    cache = _cache()
    digest = _hash(refresh_token)
    record = cache.get(f"refresh:{digest}")
    if record is None:
        return RefreshOutcome(pair=None, problem="invalid_token")
    family = cache.get(f"family:{record['sid']}")
    if family is None or family["revoked"]:
        return RefreshOutcome(pair=None, problem="invalid_token", user_id=record["user_id"])
    # add() is atomic (SET NX): of two concurrent refreshes with one token, only one wins.
    if not cache.add(f"refresh-used:{digest}", 1, settings.ENLACE_REFRESH_TOKEN_SECONDS):
        revoke_family(sid=record["sid"], now=now)
        return RefreshOutcome(pair=None, problem="token_reused", user_id=record["user_id"])
    user = user_loader(record["user_id"])
    if user is None:
        revoke_family(sid=record["sid"], now=now)
        return RefreshOutcome(pair=None, problem="invalid_token", user_id=record["user_id"])
    return RefreshOutcome(pair=_issue_pair(user=user, sid=record["sid"], now=now), problem=None)


def revoke_jti(*, jti: str, exp: int, now: datetime) -> None:
    """Marks one access token revoked until it would have expired anyway."""
    remaining = exp - int(now.timestamp())
    if remaining > 0:
        # A little extra so a verifier with clock leeway still sees the revocation.
        _cache().set(revoked_jti_key(jti), 1, remaining + 60)


def revoke_family(*, sid: str, now: datetime) -> bool:
    """Revokes a family's refresh tokens and access tokens; False when it was unknown or done."""
    cache = _cache()
    family = cache.get(f"family:{sid}")
    if family is None or family["revoked"]:
        return False
    family["revoked"] = True
    cache.set(f"family:{sid}", family, settings.ENLACE_REFRESH_TOKEN_SECONDS)
    for jti, exp in family["jtis"].items():
        revoke_jti(jti=jti, exp=exp, now=now)
    return True


def revoke_user_families(*, user_id: int, now: datetime, keep_sid: str | None = None) -> int:
    """Revokes every session of a user but login family ``keep_sid``: login families and every
    OAuth2 token the user gave an app. Returns how many families (of both kinds) were revoked."""
    cache = _cache()
    sids = cache.get(f"user-families:{user_id}") or []
    revoked = sum(1 for sid in sids if sid != keep_sid and revoke_family(sid=sid, now=now))
    remaining = [sid for sid in sids if sid == keep_sid]
    cache.set(f"user-families:{user_id}", remaining, settings.ENLACE_REFRESH_TOKEN_SECONDS)
    return revoked + revoke_user_oauth_tokens(user_id=user_id)


# --- OAuth2 tokens (django-oauth-toolkit's tables) -------------------------------------------------


def oauth_access_token_remember(*, token: str, claims: dict[str, Any], now: datetime) -> None:
    """Notes which ``jti`` an OAuth2 access JWT carries, until it expires.

    DOT stores only the SHA-256 of a token (RFC 9700 token storage); without this note, deleting
    its row (revocation, rotation, reuse detection) could not tell the services which jti to refuse.
    """
    remaining = int(claims["exp"]) - int(now.timestamp())
    record = {"jti": claims["jti"], "exp": int(claims["exp"])}
    _cache().set(f"oauth-access:{_hash(token)}", record, max(remaining, 0) + 60)


def oauth_access_token_revoke(*, token_checksum: str, now: datetime) -> bool:
    """Revokes, for every service, the OAuth2 access JWT whose SHA-256 is ``token_checksum``.

    Returns False when the token is unknown here (already expired, or never an identity JWT).
    """
    record = _cache().get(f"oauth-access:{token_checksum}")
    if record is None:
        return False
    revoke_jti(jti=record["jti"], exp=record["exp"], now=now)
    return True


def revoke_user_oauth_tokens(*, user_id: int) -> int:
    """Revokes every OAuth2 token and pending code the user gave apps; returns how many families.

    Deleting the access tokens' rows revokes their JWTs for every service (identity's
    ``post_delete`` receiver in :mod:`backoffice.identity.oauth`).
    """
    refresh_model = get_refresh_token_model()
    access_model = get_access_token_model()
    live = refresh_model.objects.filter(user_id=user_id, revoked__isnull=True)
    with transaction.atomic(using=router.db_for_write(access_model)):
        families = {family for family in live.values_list("token_family", flat=True) if family}
        for family in families:
            refresh_model.revoke_family(family)
        for refresh_token in live:  # rows from before token families, if any
            refresh_token.revoke()
        access_model.objects.filter(user_id=user_id).delete()
        get_grant_model().objects.filter(user_id=user_id).delete()
    return len(families)


def decode_own_access_token(token: str) -> dict[str, Any] | None:
    """The claims of an access token this identity signed (even if expired), or None."""
    try:
        header = jwt.get_unverified_header(token)
        key = next(
            k for k in keys.published_keys(now=datetime.now().astimezone()) if k.kid == header.get("kid")
        )
        return jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=["RS256"],
            audience=settings.ENLACE_JWT_AUDIENCE,
            issuer=settings.ENLACE_JWT_ISSUER,
            options={"verify_exp": False},
        )
    except (jwt.PyJWTError, StopIteration):
        return None


def refresh_ttl() -> timedelta:
    return timedelta(seconds=settings.ENLACE_REFRESH_TOKEN_SECONDS)
