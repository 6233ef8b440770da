"""Reads of the identity service."""

from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backoffice.access.errors import NotFound
from backoffice.identity.models import AuditEvent, User

DB = "default"


def user_get(*, user_id: int) -> User:
    """The active user with this id; raises NotFound."""
    user = User.objects.using(DB).filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound(_("No such user."))
    return user


def user_list(*, role: str | None = None, client_id: int | None = None) -> QuerySet[User]:
    """Users, newest first, optionally only those with ``role`` or of ``client_id``."""
    users = User.objects.using(DB).order_by("-date_joined", "-id")
    if role:
        if connections[DB].features.supports_json_field_contains:
            users = users.filter(roles__contains=[role])
        else:  # SQLite (embedded mode): match the quoted role inside the JSON text
            users = users.filter(roles__icontains=f'"{role}"')
    if client_id is not None:
        users = users.filter(client_id=client_id)
    return users


def audit_event_list(*, email: str | None = None, kind: str | None = None) -> QuerySet[AuditEvent]:
    """Audit rows, newest first, optionally filtered by e-mail or kind."""
    events = AuditEvent.objects.using(DB).select_related("user")
    if email:
        events = events.filter(email__iexact=email)
    if kind:
        events = events.filter(kind=kind)
    return events
