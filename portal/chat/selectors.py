"""Reads of the chat: conversations, the messages after a sequence number, the agents' queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.chat.errors import ConversationNotFound
from portal.chat.models import Conversation, Message

# A replay never sends more than this many messages at once; the client asks again for the rest.
REPLAY_LIMIT = 500


def message_data(message: Message) -> dict[str, Any]:
    """A message as plain data (what crosses the channel layer and feeds the templates)."""
    return {
        "seq": message.seq,
        "sender_kind": message.sender_kind,
        "sender_name": message.sender_name,
        "text": message.text,
        "code": (message.payload or {}).get("code", ""),
        "params": (message.payload or {}).get("params", {}),
        "created_at": message.created_at.isoformat(),
        "delivered": message.delivered_at is not None,
        "read": message.read_at is not None,
    }


def conversation_get(*, conversation_id: int) -> Conversation:
    """The conversation; ConversationNotFound when there is none with this id."""
    try:
        return Conversation.objects.get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise ConversationNotFound(f"no conversation {conversation_id}") from None


def conversation_of_subscriber(*, user_id: int) -> Conversation | None:
    return Conversation.objects.filter(subscriber_user_id=user_id).first()


def messages_after(
    *, conversation_id: int, after_seq: int, limit: int = REPLAY_LIMIT
) -> list[dict[str, Any]]:
    """The conversation's messages with a sequence number above ``after_seq``, oldest first."""
    messages = Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq).order_by("seq")
    return [message_data(message) for message in messages[:limit]]


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def conversation_data(conversation: Conversation, *, now: datetime) -> dict[str, Any]:
    waiting_since = conversation.queued_at if conversation.state == Conversation.State.QUEUED else None
    waiting = max(0, int((now - waiting_since).total_seconds())) if waiting_since else None
    return {
        "id": conversation.pk,
        "subscriber_user_id": conversation.subscriber_user_id,
        "subscriber_name": conversation.subscriber_name,
        "subscriber_email": conversation.subscriber_email,
        "client_id": conversation.client_id,
        "language": conversation.language,
        "state": conversation.state,
        "owner_agent_id": conversation.owner_agent_id,
        "owner_agent_name": conversation.owner_agent_name,
        "waiting_seconds": waiting,
        "waiting_label": _duration(waiting) if waiting is not None else "",
        "rating": conversation.rating,
        "updated_at": conversation.updated_at,
    }


def queue_list(*, now: datetime, agent_id: int) -> dict[str, list[dict[str, Any]]]:
    """The agents' queue: conversations waiting for a human (longest wait first), the ones this
    agent owns, and the ones other agents own."""
    waiting = Conversation.objects.filter(state=Conversation.State.QUEUED).order_by("queued_at")
    owned = Conversation.objects.filter(state=Conversation.State.AGENT).order_by("taken_at")
    return {
        "waiting": [conversation_data(c, now=now) for c in waiting[:200]],
        "mine": [conversation_data(c, now=now) for c in owned if c.owner_agent_id == agent_id],
        "others": [conversation_data(c, now=now) for c in owned if c.owner_agent_id != agent_id],
    }
