"""Writes of the support service: each one atomic on the support database, with its event
written to the outbox in the same transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from backoffice.access.drf import STAFF_ROLES, ensure_can_access_client
from backoffice.access.errors import Conflict, Forbidden
from backoffice.access.verifier import Principal
from backoffice.databases import service_db
from backoffice.support.models import TRANSITIONS, Ticket, TicketComment, TicketSource, TicketStatus
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.envelope import Envelope

DB = service_db("support")
SOURCE = "support"


def _is_staff(principal: Principal) -> bool:
    return principal.has_any_role(*STAFF_ROLES)


def _publish(envelope: Envelope, ticket: Ticket) -> None:
    outbox_put(using=DB, topic=catalog.SUPPORT_EVENTS, key=str(ticket.pk), envelope=envelope)


def ticket_source_for(principal: Principal, requested: str | None) -> str:
    """Where a ticket comes from: a service says so (the bot), staff are agents, a subscriber
    writes from the portal form. Only a service may choose."""
    if principal.is_service:
        return requested or TicketSource.BOT
    if _is_staff(principal):
        return TicketSource.AGENT
    return TicketSource.PORTAL


def ticket_create(
    *,
    principal: Principal,
    client_id: int,
    subject: str,
    body: str = "",
    source: str | None = None,
    conversation_id: str = "",
) -> Ticket:
    """Opens a ticket for ``client_id`` (status new) and announces it.

    Raises Forbidden when ``principal`` may not reach that client.
    """
    ensure_can_access_client(principal, client_id)
    with transaction.atomic(using=DB):
        ticket = Ticket.objects.using(DB).create(
            client_id=client_id,
            subject=subject,
            body=body,
            source=ticket_source_for(principal, source),
            conversation_id=conversation_id,
            created_by=principal.subject,
        )
        _publish(
            Envelope.new(
                type="support.ticket.created",
                source=SOURCE,
                data={
                    "ticket_id": ticket.pk,
                    "client_id": ticket.client_id,
                    "subject": ticket.subject,
                    "status": ticket.status,
                    "source": ticket.source,
                    "conversation_id": ticket.conversation_id or None,
                    "created_by": ticket.created_by,
                },
            ),
            ticket,
        )
    return ticket


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.using(DB).select_for_update().get(pk=ticket.pk)


def _updated(ticket: Ticket, *, change: str, previous: str, by: str, comment_id: int | None = None) -> None:
    _publish(
        Envelope.new(
            type="support.ticket.updated",
            source=SOURCE,
            data={
                "ticket_id": ticket.pk,
                "client_id": ticket.client_id,
                "change": change,
                "status": ticket.status,
                "previous_status": previous,
                "by": by,
                "comment_id": comment_id,
            },
        ),
        ticket,
    )


def ticket_status_change(*, principal: Principal, ticket: Ticket, status: str) -> Ticket:
    """Moves ``ticket`` to ``status`` along the allowed transitions; the same status changes nothing.

    Staff and services may make any allowed move; a subscriber may only close their ticket or
    reopen a resolved one (Forbidden otherwise). Raises Conflict (``invalid_transition``) for a
    move the workflow does not allow, e.g. out of ``closed``.
    """
    with transaction.atomic(using=DB):
        ticket = _locked(ticket)
        previous = ticket.status
        if status == previous:
            return ticket
        if not (principal.is_service or _is_staff(principal)):
            allowed_to_subscriber = status == TicketStatus.CLOSED or (
                previous == TicketStatus.RESOLVED and status == TicketStatus.OPEN
            )
            if not allowed_to_subscriber:
                raise Forbidden(_("You can only close your ticket or reopen a resolved one."))
        if status not in TRANSITIONS[previous]:
            raise Conflict(
                _("A %(previous)s ticket cannot become %(status)s.")
                % {"previous": TicketStatus(previous).label, "status": TicketStatus(status).label},
                code="invalid_transition",
            )
        ticket.status = status
        ticket.save(update_fields=["status", "updated_at"])
        _updated(ticket, change="status", previous=previous, by=principal.subject)
    return ticket


def ticket_comment_add(*, principal: Principal, ticket: Ticket, body: str) -> TicketComment:
    """Adds a comment; the subscriber's answer to a ticket waiting for them reopens it.

    Raises Conflict (``ticket_closed``) on a closed ticket.
    """
    with transaction.atomic(using=DB):
        ticket = _locked(ticket)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(_("The ticket is closed; open a new one."), code="ticket_closed")
        by_subscriber = not (principal.is_service or _is_staff(principal))
        comment = TicketComment.objects.using(DB).create(
            ticket=ticket, body=body, author=principal.subject, by_subscriber=by_subscriber
        )
        previous = ticket.status
        if by_subscriber and previous == TicketStatus.PENDING:
            ticket.status = TicketStatus.OPEN
        ticket.save(update_fields=["status", "updated_at"])
        _updated(ticket, change="comment", previous=previous, by=principal.subject, comment_id=comment.pk)
    return comment
