"""django-oauth-toolkit glue: DOT issues identity's RS256 JWTs and limits each app's scopes.

Settings (OAUTH2_PROVIDER): ``ACCESS_TOKEN_GENERATOR`` = :func:`access_token_generator`,
``OAUTH2_VALIDATOR_CLASS`` = :class:`ScopedOAuth2Validator`. Services then verify OAuth2 tokens
and login tokens the same way, with identity's JWKS. The authorization code grant requires PKCE
with S256 (``PKCE_REQUIRED`` and ``COMPLIANT_BCP_RFC9700_PKCE_METHOD``, and the validator below).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749.errors import UnsupportedCodeChallengeMethodError

from backoffice.access.verifier import SERVICE_SUBJECT_PREFIX
from backoffice.identity import tokens
from backoffice.identity.models import OAuthClientScopes, Role


def access_token_generator(request: Any, refresh_token: bool = False) -> str:
    """The JWT DOT hands out (oauthlib calls this with its request).

    Client credentials: ``sub`` = ``client:<client_id>``. Authorization code: ``sub`` = the
    user's id, with their roles and client, limited by ``scope`` to what they consented to.
    """
    default_lifetime: Any = settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"]
    lifetime = int(getattr(request, "expires_in", None) or default_lifetime)
    client_id = str(request.client_id or getattr(request.client, "client_id", ""))
    user = getattr(request, "user", None)
    now = datetime.now(UTC)
    if user is not None and getattr(user, "pk", None) is not None:
        claims = tokens.base_claims(subject=str(user.pk), now=now, lifetime=lifetime)
        claims["roles"] = list(user.roles)
        claims["azp"] = client_id
        if Role.SUBSCRIBER.value in user.roles and user.client_id is not None:
            claims["client_id"] = user.client_id
    else:
        claims = tokens.base_claims(
            subject=f"{SERVICE_SUBJECT_PREFIX}{client_id}", now=now, lifetime=lifetime
        )
        claims["client_id"] = client_id
    claims["scope"] = " ".join(request.scopes or [])
    return tokens.sign_claims(claims)


def allowed_scopes(application: Any) -> list[str]:
    """The scopes this application may obtain (none unless staff granted some)."""
    row = OAuthClientScopes.objects.filter(application=application).first()
    return list(row.scopes) if row else []


# RFC 9700 §2.1.1: "plain" sends the verifier itself through the browser, so it protects nothing.
PKCE_METHODS = frozenset({"S256"})


class ScopedOAuth2Validator(OAuth2Validator):
    """Refuses scopes the application was not granted (grants none by default) and PKCE but S256."""

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        """Whether PKCE is required (always, by settings); raises for a challenge method but S256.

        oauthlib asks this while validating an authorization request, just before it turns a
        missing method into "plain", and offers no hook for allowed methods. Refusing here answers
        ``invalid_request`` before the consent page is shown; DOT's RFC 9700 gate refuses "plain"
        again when the code is saved.
        """
        challenge = getattr(request, "code_challenge", None)
        method = getattr(request, "code_challenge_method", None)
        if challenge is not None and method not in PKCE_METHODS:
            raise UnsupportedCodeChallengeMethodError(
                description='Only the "S256" code_challenge_method is accepted.', request=request
            )
        return bool(super().is_pkce_required(client_id, request))

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        return set(scopes) <= set(allowed_scopes(client)) and super().validate_scopes(
            client_id, scopes, client, request, *args, **kwargs
        )

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        return allowed_scopes(request.client)
