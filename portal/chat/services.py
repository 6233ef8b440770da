"""Writes of the chat. Each is atomic and announces what changed on the channel layer after commit.

A conversation's row is the lock of everything that happens to it: posting a message (its
sequence number), taking it over, handing it back and resolving it all ``select_for_update`` it
first, so two agents racing for one conversation are serialised and exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from portal.chat import events
from portal.chat.errors import AlreadyTaken, ConversationNotFound, InvalidInput, NotTheOwner
from portal.chat.models import Conversation, Message
from portal.chat.selectors import message_data

MAX_TEXT = 4000

# Codes of system messages (worded in the reader's language by the templates).
QUEUED_ON_REQUEST = "queued_on_request"
QUEUED_BY_BOT = "queued_by_bot"
QUEUED_BOT_FAILED = "queued_bot_failed"
AGENT_JOINED = "agent_joined"
BOT_BACK = "bot_back"
RESOLVED = "resolved"

Sender = Message.Sender
State = Conversation.State


@dataclass(frozen=True)
class Posted:
    """A posted message; ``created`` is False for a resend of a message already stored."""

    message: dict[str, Any]
    created: bool
    # The bot should answer it (a new subscriber message while the bot has the conversation).
    for_bot: bool


def _locked(conversation_id: int) -> Conversation:
    try:
        return Conversation.objects.select_for_update().get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise ConversationNotFound(f"no conversation {conversation_id}") from None


def _state_announce(conversation: Conversation) -> None:
    events.publish_on_commit(
        events.conversation_group(conversation.pk),
        {
            "type": "chat.state",
            "state": conversation.state,
            "owner_agent_id": conversation.owner_agent_id,
            "owner_agent_name": conversation.owner_agent_name,
        },
    )
    events.publish_on_commit(events.QUEUE_GROUP, {"type": "queue.changed"})


def _append(
    conversation: Conversation,
    *,
    sender_kind: str,
    text: str = "",
    sender_name: str = "",
    client_msg_id: str | None = None,
    payload: dict[str, Any] | None = None,
    now: datetime,
) -> Message:
    """Appends a message to a locked conversation with the next sequence number."""
    conversation.last_seq += 1
    conversation.updated_at = now
    conversation.save(update_fields=["last_seq", "updated_at"])
    message = Message.objects.create(
        conversation=conversation,
        seq=conversation.last_seq,
        sender_kind=sender_kind,
        sender_name=sender_name,
        client_msg_id=client_msg_id,
        text=text,
        payload=payload or {},
        created_at=now,
    )
    events.publish_on_commit(
        events.conversation_group(conversation.pk),
        {"type": "chat.message", "conversation_id": conversation.pk, "message": message_data(message)},
    )
    return message


def _system(conversation: Conversation, code: str, *, now: datetime, **params: Any) -> Message:
    return _append(conversation, sender_kind=Sender.SYSTEM, payload={"code": code, "params": params}, now=now)


@transaction.atomic
def conversation_open(
    *, user_id: int, client_id: int, name: str, email: str, language: str, now: datetime
) -> Conversation:
    """The subscriber's conversation, created on first use; remembers the language they use now."""
    conversation, created = Conversation.objects.select_for_update().get_or_create(
        subscriber_user_id=user_id,
        defaults={
            "client_id": client_id,
            "subscriber_name": name,
            "subscriber_email": email,
            "language": language,
            "created_at": now,
            "updated_at": now,
        },
    )
    if not created and (conversation.language, conversation.subscriber_email) != (language, email):
        conversation.language, conversation.subscriber_email = language, email
        conversation.save(update_fields=["language", "subscriber_email"])
    return conversation


def _clean_text(text: Any) -> str:
    cleaned = str(text or "").strip()
    if not cleaned:
        raise InvalidInput(gettext_noop("a message needs some text"))
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(gettext_noop("a message holds at most 4000 characters"))
    return cleaned


def _clean_client_msg_id(client_msg_id: Any) -> str | None:
    if client_msg_id in (None, ""):
        return None
    value = str(client_msg_id)
    if len(value) > 64:
        raise InvalidInput(gettext_noop("a client message id holds at most 64 characters"))
    return value


@transaction.atomic
def message_post_by_subscriber(
    *, conversation_id: int, text: Any, client_msg_id: Any, now: datetime
) -> Posted:
    """Stores the subscriber's message once (a resend with the same client message id returns
    the stored one). A resolved conversation is reopened with the bot."""
    text, msg_id = _clean_text(text), _clean_client_msg_id(client_msg_id)
    conversation = _locked(conversation_id)
    if msg_id is not None:
        existing = Message.objects.filter(conversation=conversation, client_msg_id=msg_id).first()
        if existing is not None:
            return Posted(message=message_data(existing), created=False, for_bot=False)
    if conversation.state == State.RESOLVED:
        conversation.state = State.BOT
        conversation.owner_agent_id, conversation.owner_agent_name = None, ""
        conversation.save(update_fields=["state", "owner_agent_id", "owner_agent_name"])
        _state_announce(conversation)
    message = _append(
        conversation,
        sender_kind=Sender.SUBSCRIBER,
        sender_name=conversation.subscriber_name,
        text=text,
        client_msg_id=msg_id,
        now=now,
    )
    return Posted(message=message_data(message), created=True, for_bot=conversation.state == State.BOT)


@transaction.atomic
def message_post_by_agent(
    *, conversation_id: int, agent_id: int, agent_name: str, text: Any, client_msg_id: Any, now: datetime
) -> Posted:
    """Stores the agent's message once; NotTheOwner unless this agent owns the conversation."""
    text, msg_id = _clean_text(text), _clean_client_msg_id(client_msg_id)
    conversation = _locked(conversation_id)
    if msg_id is not None:
        existing = Message.objects.filter(conversation=conversation, client_msg_id=msg_id).first()
        if existing is not None:
            return Posted(message=message_data(existing), created=False, for_bot=False)
    if conversation.state != State.AGENT or conversation.owner_agent_id != agent_id:
        raise NotTheOwner(gettext_noop("take the conversation over before writing in it"))
    message = _append(
        conversation,
        sender_kind=Sender.AGENT,
        sender_name=agent_name,
        text=text,
        client_msg_id=msg_id,
        now=now,
    )
    return Posted(message=message_data(message), created=True, for_bot=False)


@transaction.atomic
def bot_answers_store(
    *, conversation_id: int, texts: list[str], bot_language: str, now: datetime
) -> list[dict[str, Any]]:
    """Stores the bot's answers, unless a human has the conversation by now (then the bot's late
    answers are dropped: while an agent owns it the subscriber hears only the agent), and the
    language the bot's session now speaks (in the same transaction: one commit per answer)."""
    conversation = _locked(conversation_id)
    if conversation.bot_language != bot_language:
        conversation.bot_language = bot_language
        conversation.save(update_fields=["bot_language"])
    if conversation.state != State.BOT:
        return []
    return [
        message_data(_append(conversation, sender_kind=Sender.BOT, text=text, now=now))
        for text in texts
        if text
    ]


@transaction.atomic
def conversation_queue(*, conversation_id: int, reason: str, now: datetime) -> bool:
    """Puts a conversation the bot has in the human queue and tells the subscriber why; False
    (nothing changes) when a human already has it or it is already waiting."""
    conversation = _locked(conversation_id)
    if conversation.state not in (State.BOT, State.RESOLVED):
        return False
    conversation.state = State.QUEUED
    conversation.queued_at = now
    conversation.owner_agent_id, conversation.owner_agent_name = None, ""
    conversation.save(update_fields=["state", "queued_at", "owner_agent_id", "owner_agent_name"])
    _system(conversation, reason, now=now)
    _state_announce(conversation)
    return True


@transaction.atomic
def conversation_take_over(
    *, conversation_id: int, agent_id: int, agent_name: str, now: datetime
) -> Conversation:
    """Makes the agent the conversation's owner (the bot hears nothing more); AlreadyTaken, naming
    the owner, when another agent got it first. Taking one's own conversation again is a no-op."""
    conversation = _locked(conversation_id)
    if conversation.state == State.AGENT:
        if conversation.owner_agent_id == agent_id:
            return conversation
        raise AlreadyTaken(conversation.owner_agent_name)
    conversation.state = State.AGENT
    conversation.owner_agent_id, conversation.owner_agent_name = agent_id, agent_name
    conversation.taken_at = now
    conversation.save(update_fields=["state", "owner_agent_id", "owner_agent_name", "taken_at"])
    _system(conversation, AGENT_JOINED, now=now, name=agent_name)
    _state_announce(conversation)
    return conversation


def _owned(conversation_id: int, agent_id: int) -> Conversation:
    conversation = _locked(conversation_id)
    if conversation.state != State.AGENT or conversation.owner_agent_id != agent_id:
        raise NotTheOwner(gettext_noop("only the agent who has the conversation can do this"))
    return conversation


@transaction.atomic
def conversation_hand_back(*, conversation_id: int, agent_id: int, now: datetime) -> Conversation:
    """Gives the agent's conversation back to the bot (the caller has resumed it in Rasa)."""
    conversation = _owned(conversation_id, agent_id)
    conversation.state = State.BOT
    conversation.owner_agent_id, conversation.owner_agent_name = None, ""
    conversation.save(update_fields=["state", "owner_agent_id", "owner_agent_name"])
    _system(conversation, BOT_BACK, now=now)
    _state_announce(conversation)
    return conversation


@transaction.atomic
def conversation_resolve(*, conversation_id: int, agent_id: int, now: datetime) -> Conversation:
    """Closes the agent's conversation and asks the subscriber to rate it."""
    conversation = _owned(conversation_id, agent_id)
    conversation.state = State.RESOLVED
    conversation.resolved_at = now
    conversation.rating = None
    conversation.save(update_fields=["state", "resolved_at", "rating"])
    _system(conversation, RESOLVED, now=now)
    _state_announce(conversation)
    return conversation


@transaction.atomic
def conversation_rate(*, conversation_id: int, rating: Any, now: datetime) -> None:
    """Records the subscriber's satisfaction (1 to 5) with their resolved conversation."""
    try:
        value = int(rating)
    except (TypeError, ValueError):
        raise InvalidInput(gettext_noop("the rating must be a whole number from 1 to 5")) from None
    if not 1 <= value <= 5:
        raise InvalidInput(gettext_noop("the rating must be a whole number from 1 to 5"))
    conversation = _locked(conversation_id)
    if conversation.state != State.RESOLVED:
        raise InvalidInput(gettext_noop("only a resolved conversation can be rated"))
    conversation.rating = value
    conversation.save(update_fields=["rating"])
    events.publish_on_commit(
        events.conversation_group(conversation.pk), {"type": "chat.rated", "rating": value}
    )


@transaction.atomic
def messages_acknowledge(
    *, conversation_id: int, reader: str, up_to_seq: int, read: bool, now: datetime
) -> int:
    """Marks the other side's messages up to ``up_to_seq`` delivered to ``reader`` (subscriber or
    agent), and read too when ``read``; announces the receipt. Returns how many changed."""
    others = [Sender.BOT, Sender.AGENT, Sender.SYSTEM] if reader == Sender.SUBSCRIBER else [Sender.SUBSCRIBER]
    messages = Message.objects.filter(
        conversation_id=conversation_id, seq__lte=up_to_seq, sender_kind__in=others
    )
    changed = messages.filter(delivered_at__isnull=True).update(delivered_at=now)
    if read:
        changed += messages.filter(read_at__isnull=True).update(read_at=now)
    if changed:
        events.publish_on_commit(
            events.conversation_group(conversation_id),
            {"type": "chat.receipt", "reader": reader, "up_to": up_to_seq, "read": read},
        )
    return changed
