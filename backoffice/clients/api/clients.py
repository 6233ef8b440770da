"""Clients API: the clients."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.access.openapi import PAGE_PARAMETER, paginated
from backoffice.access.pagination import paginated_response
from backoffice.clients import selectors, services
from backoffice.clients.api.common import CanReadOwn, _only_client_id, _ReadWriteApi
from backoffice.clients.api.serializers import ClientOutput, _ClientFields
from backoffice.clients.models import (
    ClientKind,
    ClientStatus,
    IdentificationType,
)

# --- clients -------------------------------------------------------------------------------------------


class ClientListCreateApi(_ReadWriteApi):
    read_permission = CanReadOwn

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, help_text="Name, identification, e-mail or PPPoE user.")
        status = serializers.ChoiceField(choices=ClientStatus.choices, required=False)
        kind = serializers.ChoiceField(choices=ClientKind.choices, required=False)
        identification_type = serializers.ChoiceField(choices=IdentificationType.choices, required=False)
        city = serializers.CharField(required=False)

    class InputSerializer(_ClientFields):
        pass

    @extend_schema(
        operation_id="clients_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(ClientOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        clients = selectors.client_list(**filters.validated_data, only_client_id=_only_client_id(request))
        return paginated_response(request, self, clients, ClientOutput)

    @extend_schema(request=InputSerializer, responses={201: ClientOutput})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client = services.client_create(**body.validated_data, now=timezone.now())
        return Response(ClientOutput(client).data, status=status.HTTP_201_CREATED)


class ClientDetailApi(_ReadWriteApi):
    read_permission = CanReadOwn

    class InputSerializer(_ClientFields):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, partial=True, **kwargs)

    @extend_schema(responses={200: ClientOutput})
    def get(self, request: Request, client_id: int) -> Response:
        client = selectors.client_get(client_id=client_id, only_client_id=_only_client_id(request))
        return Response(ClientOutput(client).data)

    @extend_schema(request=InputSerializer, responses={200: ClientOutput})
    def patch(self, request: Request, client_id: int) -> Response:
        client = selectors.client_get(client_id=client_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client = services.client_update(client=client, **body.validated_data, now=timezone.now())
        return Response(ClientOutput(client).data)
