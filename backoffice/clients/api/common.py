"""Roles, permissions and pagination the clients API's endpoints share."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework.request import Request
from rest_framework.views import APIView

from backoffice.access.drf import HasAnyRole, HasScope, principal_of
from backoffice.access.errors import Forbidden

READ_ROLES = ("agent", "noc", "billing", "admin")
WRITE_ROLES = ("billing", "admin")
CanRead = HasAnyRole(*READ_ROLES) | HasScope("clients.read")
CanWrite = HasAnyRole(*WRITE_ROLES) | HasScope("clients.write")
# Endpoints a subscriber reaches too, narrowed to their own client.
CanReadOwn = CanRead | HasAnyRole("subscriber")


def _only_client_id(request: Request) -> int | None:
    """None for staff and services (every client); the subscriber's own client otherwise."""
    principal = principal_of(request)
    if principal.is_service or (principal.has_any_role(*READ_ROLES) and not principal.is_delegated):
        return None
    if principal.client_id is None:
        raise Forbidden(
            str(gettext_lazy("Only subscribers have their own client record.")), code="not_a_subscriber"
        )
    return principal.client_id


# --- shapes shared by the OpenAPI document ---------------------------------------------------------------


class _ReadWriteApi(APIView):
    """Reads need CanRead (or a subscriber's own record, see ``read_permission``), writes CanWrite."""

    read_permission: Any = CanRead

    def get_permissions(self) -> list[Any]:
        wanted = self.read_permission if self.request.method in ("GET", "HEAD", "OPTIONS") else CanWrite
        return [wanted()]
