"""The chat's WebSockets: the subscriber's (/ws/chat/<id>/) and an agent's (/ws/agent/...).

What the browser sends is JSON (htmx's ws extension sends a form's fields): ``type`` is one of
sync, message, typing, read (and handoff, rate for the subscriber). What the portal sends is
HTML that htmx swaps out of band. Every socket sends each message exactly once, in order: it
remembers the last sequence number it sent and fills any gap from the database, so a replay
(``sync`` after a reconnect) and live pushes never duplicate or skip one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string
from django.utils import timezone, translation

from portal.accounts import SESSION_USER
from portal.chat import bridge, events, selectors, services
from portal.chat.errors import ChatError, ConversationNotFound, InvalidInput
from portal.chat.models import Conversation, Message

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def _session_user(session: Any) -> dict[str, Any] | None:
    user = session.get(SESSION_USER) if session is not None else None
    return dict(user) if user else None


class ChatSocket(AsyncWebsocketConsumer):
    """What the subscriber's and the agents' sockets share: replay, live messages, receipts."""

    viewer: str  # Message.Sender of this side
    conversation_id: int
    user: dict[str, Any]
    # The last sequence number sent to this browser; None until it said what it has (sync).
    last_sent: int | None = None
    group: str = ""

    async def authorize(self, conversation: Conversation) -> bool:
        raise NotImplementedError

    async def connect(self) -> None:
        user = await database_sync_to_async(_session_user)(self.scope.get("session"))
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        try:
            conversation = await database_sync_to_async(selectors.conversation_get)(
                conversation_id=self.conversation_id
            )
        except ConversationNotFound:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if not await self.authorize(conversation):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = events.conversation_group(self.conversation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    # --- rendering ------------------------------------------------------------------------------
    def _render(self, template: str, context: dict[str, Any]) -> str:
        with translation.override(self.scope.get("portal_language")):
            return render_to_string(template, {"viewer": self.viewer, **context})

    async def _send_messages(self, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        self.last_sent = messages[-1]["seq"]
        await self.send(
            text_data=self._render("chat/messages.html", {"messages": messages, "last_seq": self.last_sent})
        )
        if any(message["sender_kind"] != self.viewer for message in messages):
            await database_sync_to_async(services.messages_acknowledge)(
                conversation_id=self.conversation_id,
                reader=self.viewer,
                up_to_seq=self.last_sent,
                read=False,
                now=timezone.now(),
            )

    async def _error(self, text: str) -> None:
        await self.send(text_data=self._render("chat/error.html", {"error": text}))

    # --- from the browser -----------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            body = json.loads(text_data or "")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._error(translation.gettext_noop("The chat could not read what your browser sent."))
            return
        kind = str(body.get("type") or "")
        handler = getattr(self, f"on_{kind}", None) if kind.isidentifier() else None
        if handler is None:
            await self._error(translation.gettext_noop("The chat could not read what your browser sent."))
            return
        try:
            await handler(body)
        except InvalidInput as exc:
            await self._error(str(exc))
        except ChatError as exc:
            await self._error(str(exc))

    async def on_sync(self, body: dict[str, Any]) -> None:
        """Sends everything after the sequence number the browser has (0: the whole history)."""
        try:
            after = max(0, int(body.get("after") or 0))
        except (TypeError, ValueError):
            raise InvalidInput(translation.gettext_noop("after must be a sequence number")) from None
        self.last_sent = after
        while True:
            batch = await database_sync_to_async(selectors.messages_after)(
                conversation_id=self.conversation_id, after_seq=self.last_sent
            )
            await self._send_messages(batch)
            if len(batch) < selectors.REPLAY_LIMIT:
                break
        conversation = await database_sync_to_async(selectors.conversation_get)(
            conversation_id=self.conversation_id
        )
        await self.send(
            text_data=self._render_state(
                conversation.state, conversation.owner_agent_id, conversation.owner_agent_name
            )
        )

    async def on_typing(self, body: dict[str, Any]) -> None:
        await self.channel_layer.group_send(
            self.group, {"type": "chat.typing", "sender_kind": self.viewer, "origin": self.channel_name}
        )

    async def on_read(self, body: dict[str, Any]) -> None:
        try:
            seq = int(body.get("seq") or 0)
        except (TypeError, ValueError):
            raise InvalidInput(translation.gettext_noop("seq must be a sequence number")) from None
        await database_sync_to_async(services.messages_acknowledge)(
            conversation_id=self.conversation_id,
            reader=self.viewer,
            up_to_seq=seq,
            read=True,
            now=timezone.now(),
        )

    # --- from the channel layer -----------------------------------------------------------------
    async def chat_message(self, event: dict[str, Any]) -> None:
        if self.last_sent is None:
            return  # not synced yet: the sync reads it from the database
        message = event["message"]
        if message["seq"] <= self.last_sent:
            return  # already sent (by a replay, or a gap filled from the database)
        if message["seq"] == self.last_sent + 1:
            await self._send_messages([message])
        else:
            # Pushes of concurrent posts can arrive out of order: fill the gap from the database.
            batch = await database_sync_to_async(selectors.messages_after)(
                conversation_id=self.conversation_id, after_seq=self.last_sent
            )
            await self._send_messages(batch)

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event["sender_kind"] != self.viewer and event.get("origin") != self.channel_name:
            await self.send(text_data=self._render("chat/typing.html", {"sender_kind": event["sender_kind"]}))

    async def chat_receipt(self, event: dict[str, Any]) -> None:
        if event["reader"] != self.viewer:
            await self.send(text_data=self._render("chat/receipt.html", event))

    async def chat_state(self, event: dict[str, Any]) -> None:
        await self.send(
            text_data=self._render_state(event["state"], event["owner_agent_id"], event["owner_agent_name"])
        )

    async def chat_rated(self, event: dict[str, Any]) -> None:
        await self.send(text_data=self._render("chat/rated.html", {"rating": event["rating"]}))

    def _render_state(self, state: str, owner_agent_id: int | None, owner_agent_name: str) -> str:
        return self._render(
            "chat/state.html",
            {
                "state": state,
                "owner_agent_name": owner_agent_name,
                "mine": owner_agent_id is not None and owner_agent_id == self.user["id"],
                "conversation_id": self.conversation_id,
            },
        )


class SubscriberChatConsumer(ChatSocket):
    """The subscriber's own conversation; nobody else's."""

    viewer = Message.Sender.SUBSCRIBER

    async def authorize(self, conversation: Conversation) -> bool:
        return int(self.user["id"]) == conversation.subscriber_user_id

    async def on_message(self, body: dict[str, Any]) -> None:
        posted = await database_sync_to_async(services.message_post_by_subscriber)(
            conversation_id=self.conversation_id,
            text=body.get("text"),
            client_msg_id=body.get("client_msg_id"),
            now=timezone.now(),
        )
        if posted.for_bot:
            bridge.bot_ask_later(conversation_id=self.conversation_id, text=posted.message["text"])

    async def on_handoff(self, body: dict[str, Any]) -> None:
        await database_sync_to_async(services.conversation_queue)(
            conversation_id=self.conversation_id, reason=services.QUEUED_ON_REQUEST, now=timezone.now()
        )

    async def on_rate(self, body: dict[str, Any]) -> None:
        await database_sync_to_async(services.conversation_rate)(
            conversation_id=self.conversation_id, rating=body.get("rating"), now=timezone.now()
        )


def is_agent(user: dict[str, Any] | None) -> bool:
    return bool(user) and "agent" in (user or {}).get("roles", [])


def agent_name(user: dict[str, Any]) -> str:
    return str(user.get("full_name") or user.get("email") or f"#{user['id']}")


class AgentChatConsumer(ChatSocket):
    """Any conversation, for a user with the agent role; writing needs owning it."""

    viewer = Message.Sender.AGENT

    async def authorize(self, conversation: Conversation) -> bool:
        return is_agent(self.user)

    async def on_message(self, body: dict[str, Any]) -> None:
        await database_sync_to_async(services.message_post_by_agent)(
            conversation_id=self.conversation_id,
            agent_id=int(self.user["id"]),
            agent_name=agent_name(self.user),
            text=body.get("text"),
            client_msg_id=body.get("client_msg_id"),
            now=timezone.now(),
        )


class AgentQueueConsumer(AsyncWebsocketConsumer):
    """The agent console's live queue: re-rendered whenever a conversation changes state."""

    joined = False

    async def connect(self) -> None:
        self.user = await database_sync_to_async(_session_user)(self.scope.get("session"))
        if self.user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not is_agent(self.user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(events.QUEUE_GROUP, self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(events.QUEUE_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return

    async def queue_changed(self, event: dict[str, Any]) -> None:
        queue = await database_sync_to_async(selectors.queue_list)(
            now=timezone.now(), agent_id=int(self.user["id"])
        )
        with translation.override(self.scope.get("portal_language")):
            await self.send(
                text_data=render_to_string("chat/agent_queue.html", {"queue": queue, "oob": True})
            )
