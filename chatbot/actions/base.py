"""What every account action shares: it acts only for the subscriber the portal vouched for.

Each action reads the signed metadata of the message it answers (the portal signs every
message with ``ENLACE_CHATBOT_METADATA_KEY``), verifies it, and passes the verified client id to
one back-office call. Nothing typed in the chat ever chooses the client. A message without
valid metadata gets a polite refusal. The metadata of an earlier message (e.g. the session's
first) is deliberately not used: Rasa's REST channel accepts a message for any sender id, so an
unsigned message must not borrow a signed one's subscriber.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from chatbot import metadata
from chatbot.actions.messages import DEFAULT_LANGUAGE, LANGUAGES, say
from chatbot.backoffice_client import BackofficeClient, Unavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscriber:
    """Who the conversation is with, as the signed metadata says."""

    client_id: int
    language: str
    conversation_id: str | None
    user_id: str | None
    text: str  # what they wrote (only ever used as words, never to choose an account)


@dataclass
class Reply:
    """What an action says and the events it returns."""

    texts: list[str] = field(default_factory=list)
    json_message: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def metadata_key() -> str:
    return os.environ.get("ENLACE_CHATBOT_METADATA_KEY", "")


def portal_url() -> str:
    """Where subscribers open the portal: links the bot gives point there (contract PDFs, the
    page a payer comes back to)."""
    return os.environ.get("ENLACE_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")


def payment_gateway() -> str:
    """The billing gateway the bot's payment links use (``demo`` when billing has no keys)."""
    return os.environ.get("ENLACE_CHATBOT_PAYMENT_GATEWAY", "demo")


def verified_subscriber(tracker: Tracker) -> Subscriber:
    """The subscriber of the message being answered; raises MetadataError when it is not
    signed by the portal, has expired, or was signed for another conversation."""
    message = tracker.latest_message or {}
    claims = metadata.verify(message.get("metadata"), metadata_key())
    conversation = claims.get("conversation_id")
    if conversation is not None and str(conversation) != tracker.sender_id:
        raise metadata.MetadataError("the metadata was signed for another conversation")
    client_id = claims.get("client_id")
    if not isinstance(client_id, int) or isinstance(client_id, bool) or client_id < 1:
        raise metadata.MetadataError("the metadata names no client")
    language = claims.get("language")
    return Subscriber(
        client_id=client_id,
        language=language if language in LANGUAGES else DEFAULT_LANGUAGE,
        conversation_id=str(conversation) if conversation is not None else None,
        user_id=str(claims["user_id"]) if claims.get("user_id") is not None else None,
        text=str(message.get("text") or ""),
    )


_client: BackofficeClient | None = None


def backoffice() -> BackofficeClient:
    """The process's back-office client (one token cache for every conversation)."""
    global _client
    if _client is None:
        _client = BackofficeClient.from_env()
    return _client


class SubscriberAction(Action, abc.ABC):
    """An action for the verified subscriber; subclasses implement :meth:`answer`.

    ``answer`` runs in a worker thread (it makes blocking HTTP calls, and a diagnosis waits for
    the router), so one slow conversation does not hold up the others.
    """

    # Said instead when the service behind the action cannot answer now.
    unavailable = "unavailable"

    @abc.abstractmethod
    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        """What to say to ``subscriber``, from one back-office call with ``client``."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            subscriber = verified_subscriber(tracker)
        except metadata.MetadataError as exc:
            logger.warning("%s refused in conversation %s: %s", self.name(), tracker.sender_id, exc)
            dispatcher.utter_message(text=say("refused", DEFAULT_LANGUAGE))
            return []
        try:
            reply = await asyncio.to_thread(self.answer, subscriber, backoffice())
        except Unavailable as exc:
            logger.warning("%s for client %s: %s", self.name(), subscriber.client_id, exc)
            reply = Reply([say(self.unavailable, subscriber.language)])
        except Exception:
            logger.exception("%s failed for client %s", self.name(), subscriber.client_id)
            reply = Reply([say("failed", subscriber.language)])
        for text in reply.texts:
            dispatcher.utter_message(text=text)
        if reply.json_message is not None:
            dispatcher.utter_message(json_message=reply.json_message)
        return reply.events
