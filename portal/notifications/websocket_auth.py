"""Authenticates WebSockets from the portal's Django session (behind channels' SessionMiddleware)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.utils.translation import get_supported_language_variant

from portal.accounts import SESSION_USER


def _session_user(session: Any) -> tuple[int | None, int | None]:
    """The session user's id and client id (None, None when not signed in)."""
    user = session.get(SESSION_USER) if session is not None else None
    if not user:
        return None, None
    client_id = user.get("client_id")
    return int(user["id"]), None if client_id is None else int(client_id)


def _language(scope: dict[str, Any]) -> str:
    cookie = (scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME)
    try:
        return get_supported_language_variant(cookie) if cookie else settings.LANGUAGE_CODE
    except LookupError:
        return settings.LANGUAGE_CODE


class SessionUserMiddleware(BaseMiddleware):
    """Puts ``portal_user_id`` (None when not signed in), ``portal_client_id`` (None for staff)
    and ``portal_language`` in the scope."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        # Loading the session reads the cache or the database: not on the event loop.
        user_id, client_id = await database_sync_to_async(_session_user)(scope.get("session"))
        scope["portal_user_id"] = user_id
        scope["portal_client_id"] = client_id
        scope["portal_language"] = _language(scope)
        return await super().__call__(scope, receive, send)
