"""django-oauth-toolkit glue: DOT issues identity's RS256 JWTs and limits each app's scopes.

Settings (OAUTH2_PROVIDER): ``OAUTH2_SERVER_CLASS`` = :class:`EnlaceOAuth2Server` (only the
authorization code, client credentials and refresh token grants exist: a password or implicit
request is ``unsupported_grant_type`` / ``unsupported_response_type``), ``ACCESS_TOKEN_GENERATOR``
= :func:`access_token_generator`, ``OAUTH2_VALIDATOR_CLASS`` = :class:`ScopedOAuth2Validator`.
Services then verify OAuth2 tokens and login tokens the same way, with identity's JWKS, and
refuse a revoked one through the same ``revoked-jti`` keys (:func:`access_token_deleted`).

A user's token for an app carries at most the scopes the app was granted (staff, in the admin)
AND the user's roles allow (``backoffice.access.scopes.ROLE_SCOPES``). The authorization code
grant requires PKCE with S256. Refresh tokens rotate; a reused one revokes its family (DOT's
``REFRESH_TOKEN_REUSE_PROTECTION``); a deactivated user's refresh is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete
from oauth2_provider.models import AbstractAccessToken, get_access_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2 import (
    AuthorizationCodeGrant,
    AuthorizationEndpoint,
    BearerToken,
    ClientCredentialsGrant,
    IntrospectEndpoint,
    RefreshTokenGrant,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.errors import UnsupportedCodeChallengeMethodError

from backoffice.access.scopes import narrow_to_roles
from backoffice.access.verifier import SERVICE_SUBJECT_PREFIX
from backoffice.identity import tokens
from backoffice.identity.models import OAuthClientScopes, Role


class EnlaceOAuth2Server(
    AuthorizationEndpoint, IntrospectEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint
):
    """oauthlib's all-in-one server without the grants RFC 9700 forbids (password, implicit).

    DOT's ``COMPLIANT_BCP_RFC9700_*`` gates refuse them too; leaving them out of the server means
    no application setting made in the admin can bring them back.
    """

    def __init__(
        self,
        request_validator: Any,
        token_expires_in: Any = None,
        token_generator: Any = None,
        refresh_token_generator: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self.auth_grant = AuthorizationCodeGrant(request_validator)
        self.credentials_grant = ClientCredentialsGrant(request_validator)
        self.refresh_grant = RefreshTokenGrant(request_validator)
        self.bearer = BearerToken(
            request_validator, token_generator, token_expires_in, refresh_token_generator
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": self.auth_grant},
            default_token_type=self.bearer,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={
                "authorization_code": self.auth_grant,
                "client_credentials": self.credentials_grant,
                "refresh_token": self.refresh_grant,
            },
            default_token_type=self.bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})
        RevocationEndpoint.__init__(self, request_validator)
        IntrospectEndpoint.__init__(self, request_validator)


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
    token = tokens.sign_claims(claims)
    tokens.oauth_access_token_remember(token=token, claims=claims, now=now)
    return token


def access_token_deleted(sender: Any, instance: AbstractAccessToken, **kwargs: Any) -> None:
    """DOT revokes an access token by deleting its row: revoke the JWT for every service too.

    A receiver because DOT deletes rows on several paths (the revoke endpoint, rotation, reuse
    detection, the admin, :func:`tokens.revoke_user_oauth_tokens`); each must reach the services,
    which check ``revoked-jti`` in Redis rather than DOT's table. Done at once, not on commit: a
    rolled-back revocation then leaves a token refused early, which is the safe side.
    """
    tokens.oauth_access_token_revoke(token_checksum=instance.token_checksum, now=datetime.now(UTC))


def connect_signals() -> None:
    """Called from identity's ``AppConfig.ready``."""
    post_delete.connect(
        access_token_deleted, sender=get_access_token_model(), dispatch_uid="identity-oauth-access-deleted"
    )


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

    def save_authorization_code(
        self, client_id: str, code: Any, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        """Saves the code with the consented scopes the user's own roles allow, silently dropping
        the rest: a subscriber who consents an app asking ``network.write`` cannot give it."""
        request.scopes = narrow_to_roles(request.scopes or [], request.user.roles)
        super().save_authorization_code(client_id, code, request, *args, **kwargs)

    def get_original_scopes(self, refresh_token: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        """The refreshed token's scopes: the original ones still granted to the app and allowed by
        the user's roles today (staff may have narrowed either since)."""
        original = super().get_original_scopes(refresh_token, request, *args, **kwargs)
        scopes = original.split() if isinstance(original, str) else list(original)
        granted = set(allowed_scopes(request.client))
        return [scope for scope in narrow_to_roles(scopes, request.user.roles) if scope in granted]

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """DOT's checks (expiry, rotation, reuse revokes the family), and an active user.

        A deactivated user's apps lose every token at the first refresh, as their login sessions do.
        """
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        if not request.user.is_active:
            tokens.revoke_user_oauth_tokens(user_id=request.user.pk)
            return False
        return True

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        return set(scopes) <= set(allowed_scopes(client)) and super().validate_scopes(
            client_id, scopes, client, request, *args, **kwargs
        )

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        return allowed_scopes(request.client)
