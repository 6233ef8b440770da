"""Roles, permissions and pagination the network API's endpoints share."""

from __future__ import annotations

from typing import Any

from rest_framework.views import APIView

from backoffice.access.drf import HasAnyRole, HasScope
from backoffice.access.errors import DomainError, NotFound
from backoffice.network import selectors
from backoffice.network.models import Router

STAFF_ROLES = ("noc", "admin")
# Routers (hosts, ports, pools) are network staff's business only.
CanReadRouters = HasAnyRole(*STAFF_ROLES) | HasScope("network.read")
# Support agents read service states too: the agent console shows them beside the chat.
CanRead = HasAnyRole(*STAFF_ROLES, "agent") | HasScope("network.read")
CanWrite = HasAnyRole(*STAFF_ROLES) | HasScope("network.write")
# A line diagnosis changes nothing on the router: the support bot may run one without the power
# to suspend or move services that network.write carries.
CanDiagnose = CanWrite | HasScope("network.diagnose")


class _ReadWriteApi(APIView):
    """Reads need ``read`` (network.read or a staff role), other methods network.write."""

    read: Any = CanRead

    def get_permissions(self) -> list[Any]:
        wanted = self.read if self.request.method in ("GET", "HEAD", "OPTIONS") else CanWrite
        return [wanted()]


def _router_named(name: str) -> Router:
    """The router a request body names; an unknown one is a 400 (the URL was fine)."""
    try:
        return selectors.router_get(name=name)
    except NotFound as exc:
        raise DomainError(exc.message, code="unknown_router") from None
