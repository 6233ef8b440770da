"""Reads of the support service."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backoffice.access.drf import ensure_can_access_client, is_staff_or_service
from backoffice.access.errors import NotFound
from backoffice.access.verifier import Principal
from backoffice.databases import service_db
from backoffice.support.models import Ticket, TicketComment

DB = service_db("support")


def _visible(principal: Principal) -> QuerySet[Ticket]:
    tickets = Ticket.objects.using(DB).all()
    if is_staff_or_service(principal):
        return tickets
    return tickets.filter(client_id=principal.client_id) if principal.client_id else tickets.none()


def ticket_list(
    *, principal: Principal, client_id: int | None = None, status: str | None = None
) -> QuerySet[Ticket]:
    """The tickets ``principal`` may see, newest first: staff and services all, a subscriber
    their client's. Raises Forbidden when a subscriber asks for another client's tickets."""
    if client_id is not None:
        ensure_can_access_client(principal, client_id)
    tickets = _visible(principal)
    if client_id is not None:
        tickets = tickets.filter(client_id=client_id)
    if status:
        tickets = tickets.filter(status=status)
    return tickets


def ticket_get(*, principal: Principal, ticket_id: int) -> Ticket:
    """The ticket if ``principal`` may see it; NotFound otherwise (another client's ticket is
    reported exactly like a missing one, so its existence does not leak)."""
    ticket = _visible(principal).filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(_("No ticket #%(id)s.") % {"id": ticket_id})
    return ticket


def ticket_comment_list(*, ticket: Ticket) -> QuerySet[TicketComment]:
    """The ticket's comments, oldest first."""
    return TicketComment.objects.using(DB).filter(ticket=ticket)
