"""The chat's domain errors, each with a message an agent or subscriber can act on."""

from __future__ import annotations


class ChatError(Exception):
    """Base of the chat's domain errors."""


class ConversationNotFound(ChatError):
    pass


class NotTheOwner(ChatError):
    """Only the agent who owns a conversation may write in it, hand it back or resolve it."""


class AlreadyTaken(ChatError):
    """Another agent owns the conversation already; ``owner_name`` says who."""

    def __init__(self, owner_name: str) -> None:
        super().__init__(f"{owner_name} already has this conversation")
        self.owner_name = owner_name


class InvalidInput(ChatError):
    """What the browser sent cannot be used (empty text, a rating out of 1 to 5, …)."""


class BotUnavailable(ChatError):
    """Rasa did not answer, or answered with an error; retrying later may help."""
