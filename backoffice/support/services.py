"""Writes of the support service."""

from __future__ import annotations

from backoffice.access.drf import ensure_can_access_client
from backoffice.access.verifier import Principal
from backoffice.databases import service_db
from backoffice.support.models import Ticket

DB = service_db("support")


def ticket_create(*, principal: Principal, client_id: int, subject: str, body: str = "") -> Ticket:
    """Opens a ticket for ``client_id``; raises Forbidden when ``principal`` may not reach that client."""
    ensure_can_access_client(principal, client_id)
    return Ticket.objects.using(DB).create(
        client_id=client_id, subject=subject, body=body, created_by=principal.subject
    )
