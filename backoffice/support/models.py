"""Tables of the support service (database alias: see backoffice.databases)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Waiting for the subscriber")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Where a ticket may go from each status. "pending" waits for the subscriber; "resolved" may be
# reopened (the fix did not hold) until it is closed; "closed" is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}


class TicketSource(models.TextChoices):
    BOT = "bot", _("Support bot")
    AGENT = "agent", _("Agent")
    PORTAL = "portal", _("Portal form")


class Ticket(models.Model):
    Status = TicketStatus
    Source = TicketSource

    # The client in the clients service (an id, never a foreign key across services).
    client_id = models.BigIntegerField(_("client id"), db_index=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    source = models.CharField(
        _("source"), max_length=16, choices=TicketSource.choices, default=TicketSource.PORTAL
    )
    # The portal's chat conversation the ticket came from (bot or agent), if any.
    conversation_id = models.CharField(_("conversation id"), max_length=100, blank=True, db_index=True)
    # The token subject that opened it: a user id, or "client:<id>" for a service.
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class TicketComment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(_("body"))
    # The token subject that wrote it, and whether that was the subscriber or the ISP's side.
    author = models.CharField(_("author"), max_length=200)
    by_subscriber = models.BooleanField(_("by the subscriber"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.body[:40]}"
