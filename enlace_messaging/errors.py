"""Typed messaging errors; each says whether trying again can help."""

from __future__ import annotations


class MessagingError(Exception):
    """Base of every messaging error."""

    retryable = False


class InvalidMessage(MessagingError):
    """A message that breaks the envelope or its type's schema; it goes to the DLQ."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentFailure(MessagingError):
    """A handler refuses a valid message for good (retrying cannot help): DLQ at once."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BrokerUnavailable(MessagingError):
    """The broker did not answer or acknowledge in time; retry later, nothing is lost."""

    retryable = True
