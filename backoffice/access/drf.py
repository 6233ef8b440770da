"""DRF authentication and permissions on identity's bearer tokens, for every back-office service.

``BearerTokenAuthentication`` sets ``request.user`` and ``request.auth`` to the token's
:class:`~backoffice.access.verifier.Principal`. Permissions are built with ``HasAnyRole(...)``
and ``HasScope(...)`` and combined with ``|`` (a staff role OR a service scope).

A token a user delegated to a third-party app (see ``Principal.is_delegated``) passes only where
the user's roles would AND its scopes name the endpoint's service and verb
(:mod:`backoffice.access.scopes`): ``HasAnyRole`` checks both, ``HasScope`` (for service tokens)
never admits it, and ``IsAuthenticatedInScope`` (the default) asks it for the scope. A delegated
token without scopes therefore reaches nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from backoffice.access.errors import Forbidden, InvalidBearerToken
from backoffice.access.revocation import RedisRevocationChecker, RevocationUnavailable, revoked_jti_key
from backoffice.access.scopes import scope_for, service_of_module
from backoffice.access.verifier import (
    InvalidToken,
    JwksUnavailable,
    Principal,
    RevocationChecker,
    TokenVerifier,
)

logger = logging.getLogger(__name__)

STAFF_ROLES = frozenset({"agent", "billing", "noc", "admin"})
LOCAL_JWKS_LOADER = "backoffice.identity.keys.public_jwks"


class CacheRevocationChecker:
    """Reads revocations from this process's "tokens" cache (embedded mode, no Redis)."""

    def is_revoked(self, jti: str) -> bool:
        return caches["tokens"].get(revoked_jti_key(jti)) is not None


_verifier: TokenVerifier | None = None


def get_verifier() -> TokenVerifier:
    """The process's verifier: identity's local keys when identity runs here, else its JWKS URL."""
    global _verifier
    if _verifier is None:
        revocation: RevocationChecker
        if settings.REDIS_URL:
            prefix = settings.CACHES["tokens"].get("KEY_PREFIX", "")
            revocation = RedisRevocationChecker(settings.REDIS_URL, key_prefix=prefix)
        else:
            revocation = CacheRevocationChecker()
        use_local = getattr(settings, "ENLACE_VERIFY_WITH_LOCAL_KEYS", True)
        common: dict[str, Any] = {
            "issuer": settings.ENLACE_JWT_ISSUER,
            "audience": settings.ENLACE_JWT_AUDIENCE,
            "revocation": revocation,
        }
        if use_local and "identity" in settings.ENLACE_SERVICES:
            _verifier = TokenVerifier(jwks_loader=import_string(LOCAL_JWKS_LOADER), **common)
        else:
            _verifier = TokenVerifier(jwks_url=settings.ENLACE_JWKS_URL, **common)
    return _verifier


@receiver(setting_changed)
def _forget_verifier(**kwargs: Any) -> None:
    global _verifier
    _verifier = None


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <jwt>``; a missing header leaves the request anonymous."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise InvalidBearerToken(_("The Authorization header must be 'Bearer <token>'."))
        token = parts[1].decode("latin-1")
        try:
            principal = get_verifier().verify(token)
        except JwksUnavailable as exc:
            logger.error("cannot verify a bearer token: %s", exc.reason)
            raise exceptions.APIException(_("Token verification is unavailable; try again.")) from exc
        except RevocationUnavailable as exc:
            logger.error("cannot check token revocation: %s", exc)
            raise exceptions.APIException(_("Token verification is unavailable; try again.")) from exc
        except InvalidToken as exc:
            raise InvalidBearerToken(_("Invalid token: %(reason)s") % {"reason": exc.reason}) from exc
        return principal, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="enlace"'


def principal_of(request: Request) -> Principal:
    """The request's principal; raises NotAuthenticated when there is none."""
    user = request.user
    if not isinstance(user, Principal):
        raise exceptions.NotAuthenticated()
    return user


def delegated_scope_allows(principal: Principal, request: Request, view: Any) -> bool:
    """Whether a delegated token holds the scope for this endpoint (its service, read or write).

    Endpoints outside a back-office service name no scope, so a delegated token never reaches them.
    """
    service = service_of_module(type(view).__module__)
    if service is None:
        return False
    return principal.has_scope(scope_for(service=service, method=request.method or ""))


class IsAuthenticatedInScope(BasePermission):
    """The default: any verified token, but a delegated one only within its scopes."""

    message = _("Your token lacks the scope this needs.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, Principal):
            return False
        return not user.is_delegated or delegated_scope_allows(user, request, view)


def HasAnyRole(*roles: str) -> type[BasePermission]:
    """A permission class granting access to users holding at least one of ``roles``.

    A token a user delegated to a third-party app passes only when it also holds the endpoint's
    scope: an admin who lets an app read tickets must not hand it the admin's whole power.
    """
    wanted = frozenset(roles)

    class _HasAnyRole(BasePermission):
        message = _("Your role does not allow this.")

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            if not isinstance(user, Principal) or user.roles.isdisjoint(wanted):
                return False
            return not user.is_delegated or delegated_scope_allows(user, request, view)

    _HasAnyRole.__name__ = f"HasAnyRole({', '.join(sorted(wanted))})"
    return _HasAnyRole


HasRole = HasAnyRole


def HasScope(*scopes: str) -> type[BasePermission]:
    """A permission class granting access to service tokens holding every one of ``scopes``.

    Never to a delegated token: ``network.read`` lets a service read every subscriber's
    services, while a user's app may read only what the user may (that is ``HasAnyRole``'s check).
    """
    wanted = frozenset(scopes)

    class _HasScope(BasePermission):
        message = _("Your token lacks the scope this needs.")

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return isinstance(user, Principal) and not user.is_delegated and wanted <= user.scopes

    _HasScope.__name__ = f"HasScope({', '.join(sorted(wanted))})"
    return _HasScope


def is_staff_or_service(principal: Principal) -> bool:
    """Staff roles and service tokens may reach every client's data."""
    return principal.is_service or principal.has_any_role(*STAFF_ROLES)


def ensure_can_access_client(principal: Principal, client_id: int) -> None:
    """Returns when ``principal`` may reach ``client_id``'s data; raises Forbidden otherwise.

    Staff and services may reach any client; a subscriber only their own ``client_id``.
    """
    if is_staff_or_service(principal):
        return
    if principal.client_id is not None and principal.client_id == client_id:
        return
    raise Forbidden(_("You can only access your own account."))
