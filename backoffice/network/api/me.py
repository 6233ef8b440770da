"""Network API: the subscriber's own services."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access.drf import principal_of
from backoffice.access.errors import Forbidden
from backoffice.network import selectors
from backoffice.network.api.serializers import MyServiceOutput
from backoffice.network.models import ServiceStatus

# --- the subscriber's own services ---------------------------------------------------------------------


def _own_client_id(request: Request) -> int:
    principal = principal_of(request)
    if principal.client_id is None:
        raise Forbidden(_("Only subscribers have their own services."), code="not_a_subscriber")
    return principal.client_id


class MyServiceListApi(APIView):
    @extend_schema(responses={200: MyServiceOutput(many=True)})
    def get(self, request: Request) -> Response:
        client_id = _own_client_id(request)
        services_ = selectors.service_list(client_id=client_id).exclude(status=ServiceStatus.TERMINATED)
        return Response(MyServiceOutput(services_, many=True).data)


class MyServiceDetailApi(APIView):
    @extend_schema(responses={200: MyServiceOutput})
    def get(self, request: Request, subscription_id: int) -> Response:
        client_id = _own_client_id(request)
        service = selectors.service_get(subscription_id=subscription_id, client_id=client_id)
        return Response(MyServiceOutput(service).data)
