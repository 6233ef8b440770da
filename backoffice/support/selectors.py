"""Reads of the support service."""

from __future__ import annotations

from django.db.models import QuerySet

from backoffice.access.drf import ensure_can_access_client, is_staff_or_service
from backoffice.access.verifier import Principal
from backoffice.databases import service_db
from backoffice.support.models import Ticket

DB = service_db("support")


def ticket_list(
    *, principal: Principal, client_id: int | None = None, status: str | None = None
) -> QuerySet[Ticket]:
    """The tickets ``principal`` may see: staff and services all, a subscriber their client's.

    Raises Forbidden when a subscriber asks for another client's tickets.
    """
    tickets = Ticket.objects.using(DB).all()
    if client_id is not None:
        ensure_can_access_client(principal, client_id)
        tickets = tickets.filter(client_id=client_id)
    elif not is_staff_or_service(principal):
        tickets = tickets.filter(client_id=principal.client_id) if principal.client_id else tickets.none()
    if status:
        tickets = tickets.filter(status=status)
    return tickets
