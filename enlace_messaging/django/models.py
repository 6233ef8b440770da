"""Outbox and inbox tables; one of each in every service database (and the portal's)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """A message committed with the change that caused it, waiting for the relay to publish.

    A row is pending while ``sent_at`` and ``failed_at`` are both empty. ``failed_at`` marks a
    row the relay refused to publish (its payload breaks the envelope or its schema), with
    the reason in ``last_error``; fixing the row and clearing ``failed_at`` queues it again.
    """

    message_id = models.UUIDField(unique=True)
    topic = models.CharField(max_length=200)
    key = models.CharField(max_length=200, blank=True)
    message_type = models.CharField(max_length=200)
    payload = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=Q(sent_at=None, failed_at=None), name="outbox_pending_idx")
        ]

    def __str__(self) -> str:
        return f"{self.message_type} {self.message_id} -> {self.topic}"


class InboxMessage(models.Model):
    """A message a consumer group has applied; recorded in the same transaction as its effect."""

    consumer_group = models.CharField(max_length=200)
    message_id = models.UUIDField()
    message_type = models.CharField(max_length=200)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer_group", "message_id"], name="inbox_once_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.consumer_group}: {self.message_type} {self.message_id}"
