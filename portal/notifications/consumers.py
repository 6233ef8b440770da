"""The WebSocket every signed-in page opens at /ws/notifications/.

A socket lives only as long as the identity session behind its portal session: identity is
asked when it connects, again every ``ENLACE_PORTAL_SOCKET_SESSION_CHECK_SECONDS`` and whenever
identity announces that it ended sessions of the user (a password change or reset); a sign-out
in the portal closes the session's sockets at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string
from django.utils import translation

from portal.accounts import session_group, session_identity_alive
from portal.conf import settings
from portal.identity_client import IdentityUnavailable
from portal.notifications.registry import client_group, user_group

logger = logging.getLogger(__name__)

# Close codes in the application range: no signed-in session, or identity ended it.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_SESSION_REVOKED = 4403
# Identity could not be asked; the page may reconnect later (RFC 6455 "Try Again Later").
CLOSE_TRY_AGAIN_LATER = 1013


class NotificationConsumer(AsyncWebsocketConsumer):
    """Joins the signed-in user's group (and their client's, for a subscriber) and sends each
    push as an htmx out-of-band fragment."""

    # Not channels' ``groups`` (joined before connect, for every socket): these depend on the user.
    joined: tuple[str, ...] = ()
    _watch: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user_id = self.scope.get("portal_user_id")
        if user_id is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        verdict = await self._session_verdict()
        if verdict is not None:
            await self.close(code=verdict)
            return
        groups = [user_group(user_id), session_group(self._session_key())]
        client_id = self.scope.get("portal_client_id")
        if client_id is not None:
            groups.append(client_group(client_id))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = tuple(groups)
        await self.accept()
        self._watch = asyncio.create_task(self._check_periodically())

    async def disconnect(self, code: int) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # One-way: the page sends nothing that the portal acts on here.
        return

    async def notification_fragment(self, event: dict[str, Any]) -> None:
        """A push from the channel layer: rendered in this socket's language and sent."""
        with translation.override(self.scope.get("portal_language")):
            html = render_to_string(event["template"], event.get("context") or {})
        await self.send(text_data=html)

    async def session_check(self, event: dict[str, Any]) -> None:
        """Identity ended sessions of this user: this socket closes if its own was one of them."""
        await self._close_unless_alive()

    async def session_revoked(self, event: dict[str, Any]) -> None:
        """This socket's portal session signed out."""
        await self.close(code=CLOSE_SESSION_REVOKED)

    def _session_key(self) -> str:
        session = self.scope.get("session")
        return str(getattr(session, "session_key", None) or "")

    async def _session_verdict(self) -> int | None:
        """None while identity accepts this socket's session, else the code to close with."""
        client = self.scope.get("client") or (None,)
        try:
            alive = await database_sync_to_async(session_identity_alive)(
                self._session_key(), client_ip=client[0]
            )
        except IdentityUnavailable:
            logger.warning("identity unavailable: a notification socket cannot confirm its session")
            return CLOSE_TRY_AGAIN_LATER
        return None if alive else CLOSE_SESSION_REVOKED

    async def _close_unless_alive(self) -> None:
        verdict = await self._session_verdict()
        if verdict is not None:
            await self.close(code=verdict)

    async def _check_periodically(self) -> None:
        # Catches what no event announces (a sign-out or a deactivation elsewhere).
        interval = settings.ENLACE_PORTAL_SOCKET_SESSION_CHECK_SECONDS
        try:
            while True:
                await asyncio.sleep(interval)
                await self._close_unless_alive()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("checking a notification socket's session failed")
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
