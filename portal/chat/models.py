"""Conversations and their messages, in the portal's own database.

Users live in identity, so conversations refer to them by id only. Every message has a
sequence number, dense per conversation, so a reconnecting client can ask for exactly what came
after the last one it saw; a client message id makes a resent subscriber or agent message a no-op.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class Conversation(models.Model):
    """One subscriber's support conversation (reopened by their next message once resolved)."""

    class State(models.TextChoices):
        BOT = "bot", "bot"
        QUEUED = "queued", "queued"
        AGENT = "agent", "agent"
        RESOLVED = "resolved", "resolved"

    # Declared because mypy checks against the back office's settings, where this app is absent.
    objects: ClassVar[models.Manager[Conversation]] = models.Manager()

    subscriber_user_id = models.BigIntegerField(unique=True)
    subscriber_name = models.CharField(max_length=200, blank=True)
    subscriber_email = models.CharField(max_length=254, blank=True)
    client_id = models.BigIntegerField()
    language = models.CharField(max_length=8, default="es")
    # The language the bot's session was started in ("" until the bot first answered).
    bot_language = models.CharField(max_length=8, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.BOT)
    owner_agent_id = models.BigIntegerField(null=True, blank=True)
    owner_agent_name = models.CharField(max_length=200, blank=True)
    # The highest sequence number given to one of its messages.
    last_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "queued_at"], name="chat_conv_state_queued")]

    def __str__(self) -> str:
        return f"conversation {self.pk} ({self.state})"


class Message(models.Model):
    """One message of a conversation. System messages carry a ``payload["code"]`` and are worded
    when shown, in the reader's language."""

    class Sender(models.TextChoices):
        SUBSCRIBER = "subscriber", "subscriber"
        BOT = "bot", "bot"
        AGENT = "agent", "agent"
        SYSTEM = "system", "system"

    objects: ClassVar[models.Manager[Message]] = models.Manager()

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    conversation_id: int
    seq = models.PositiveIntegerField()
    sender_kind = models.CharField(max_length=16, choices=Sender.choices)
    sender_name = models.CharField(max_length=200, blank=True)
    # Chosen by the sending browser; null (not "") for bot and system messages, so the unique
    # constraint below leaves them out.
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    text = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "client_msg_id"],
                condition=models.Q(client_msg_id__isnull=False),
                name="chat_message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.conversation_id}#{self.seq}"
