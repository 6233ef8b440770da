"""Verifies the access tokens identity issues (RS256 JWTs) and says who presented them.

Free of Django on purpose: the netagent, the portal and the bot's action server use it too.
Keys come from identity's JWKS (over HTTP, cached, fetched again once when a token names an
unknown ``kid``, which is how a key rotation reaches every service), or from a dict/callable
when the verifier runs inside identity's own process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import jwt
from jwt.algorithms import RSAAlgorithm

SERVICE_SUBJECT_PREFIX = "client:"


class InvalidToken(Exception):
    """The token cannot be trusted; ``reason`` says why (for logs and the 401 body)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksUnavailable(InvalidToken):
    """Identity's JWKS could not be fetched; retrying later can help."""


class RevocationChecker(Protocol):
    """Answers whether identity has revoked a token (by its ``jti``)."""

    def is_revoked(self, jti: str) -> bool: ...


@dataclass(frozen=True)
class Principal:
    """Who presented a valid token: a user (``user_id``) or a service (``is_service``)."""

    subject: str
    user_id: int | None
    roles: frozenset[str]
    client_id: int | None
    scopes: frozenset[str]
    jti: str
    is_service: bool
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # DRF and Django treat ``request.user`` as a user; a principal is always authenticated.
    is_authenticated = True
    is_anonymous = False

    def has_any_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def is_delegated(self) -> bool:
        """A user's token issued to a third-party app (claim ``azp``): it may do what the user's
        roles allow only where its scopes allow it too (see ``backoffice.access.scopes``)."""
        return not self.is_service and bool(self.claims.get("azp"))

    @property
    def expires_at(self) -> int:
        return int(self.claims.get("exp", 0))

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Builds a principal from verified claims; raises InvalidToken when they are malformed."""
        subject = claims.get("sub")
        jti = claims.get("jti")
        if not isinstance(subject, str) or not subject or not isinstance(jti, str) or not jti:
            raise InvalidToken("the token lacks sub or jti")
        roles = claims.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("roles must be a list of strings")
        scope = claims.get("scope") or ""
        if not isinstance(scope, str):
            raise InvalidToken("scope must be a space-separated string")
        is_service = subject.startswith(SERVICE_SUBJECT_PREFIX)
        user_id: int | None = None
        client_id: int | None = None
        if not is_service:
            try:
                user_id = int(subject)
            except ValueError:
                raise InvalidToken(f"sub {subject!r} is neither a user id nor a client") from None
            raw_client = claims.get("client_id")
            if raw_client is not None:
                if not isinstance(raw_client, int) or isinstance(raw_client, bool):
                    raise InvalidToken("client_id must be an integer")
                client_id = raw_client
        return cls(
            subject=subject,
            user_id=user_id,
            roles=frozenset(roles),
            client_id=client_id,
            scopes=frozenset(scope.split()),
            jti=jti,
            is_service=is_service,
            claims=dict(claims),
        )


class _Jwks:
    """Public keys by ``kid``, refreshed from ``fetch`` at most every ``min_refresh`` seconds."""

    def __init__(self, fetch: Callable[[], Mapping[str, Any]], *, max_age: float, min_refresh: float) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        now = time.monotonic()
        if now - self._fetched_at > self._max_age:
            self._refresh(now)
        key = self._keys.get(kid)
        if key is None and now - self._fetched_at >= self._min_refresh:
            # An unknown kid may be a key identity just rotated in: fetch once more.
            self._refresh(now)
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(f"unknown signing key {kid!r}")
        return key

    def _refresh(self, now: float) -> None:
        with self._lock:
            document = self._fetch()
            keys: dict[str, Any] = {}
            for jwk in document.get("keys", []):
                if jwk.get("kty") != "RSA" or not jwk.get("kid"):
                    continue
                keys[jwk["kid"]] = RSAAlgorithm.from_jwk(json.dumps(jwk))
            self._keys = keys
            self._fetched_at = now


def _http_fetcher(url: str, timeout: float) -> Callable[[], Mapping[str, Any]]:
    def fetch() -> Mapping[str, Any]:
        try:
            response = httpx.get(url, timeout=timeout)
            response.raise_for_status()
            return dict(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise JwksUnavailable(f"cannot fetch the JWKS from {url}: {exc}") from exc

    return fetch


class TokenVerifier:
    """Checks signature, ``kid``, expiry, issuer, audience, type and revocation of a token."""

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        jwks_loader: Callable[[], Mapping[str, Any]] | None = None,
        issuer: str,
        audience: str,
        revocation: RevocationChecker | None = None,
        leeway: int = 30,
        jwks_max_age: float = 300.0,
        jwks_min_refresh: float = 5.0,
        http_timeout: float = 5.0,
    ) -> None:
        sources = [s for s in (jwks_url, jwks, jwks_loader) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of jwks_url, jwks or jwks_loader")
        fetch: Callable[[], Mapping[str, Any]]
        if jwks_url is not None:
            fetch = _http_fetcher(jwks_url, http_timeout)
        elif jwks is not None:
            static = dict(jwks)

            def fetch() -> Mapping[str, Any]:
                return static

        else:
            assert jwks_loader is not None
            fetch = jwks_loader
        self._jwks = _Jwks(fetch, max_age=jwks_max_age, min_refresh=jwks_min_refresh)
        self.issuer = issuer
        self.audience = audience
        self.revocation = revocation
        self.leeway = leeway

    def verify(self, token: str) -> Principal:
        """The principal a valid access token speaks for; raises InvalidToken saying why not."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token header lacks kid")
        key = self._jwks.key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("the token signature is not valid") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("the token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("the token comes from another issuer") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from exc
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        principal = Principal.from_claims(claims)
        if self.revocation is not None and self.revocation.is_revoked(principal.jti):
            raise InvalidToken("the token has been revoked")
        return principal
