"""HTTP API of the support service: tickets (staff roles agent/admin, subscribers for their own client,
or services with scope ``support.read`` / ``support.write``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.drf import HasAnyRole, HasScope, principal_of
from backoffice.access.openapi import PAGE_PARAMETER, paginated
from backoffice.support import selectors, services
from backoffice.support.models import Ticket

_CAN_READ = HasAnyRole("agent", "admin", "subscriber") | HasScope("support.read")
_CAN_WRITE = HasAnyRole("agent", "admin", "subscriber") | HasScope("support.write")


class TicketOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = ["id", "client_id", "subject", "body", "status", "created_by", "created_at", "updated_at"]


class TicketListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False)
        status = serializers.ChoiceField(choices=Ticket.Status.values, required=False)

    class InputSerializer(serializers.Serializer):
        client_id = fields.IntegerField(required=False, min_value=1)
        subject = fields.CharField(max_length=200)
        body = fields.CharField(required=False, default="", allow_blank=True)

    def get_permissions(self) -> list[Any]:
        permission = _CAN_READ if self.request.method in ("GET", "HEAD", "OPTIONS") else _CAN_WRITE
        return [permission()]

    @extend_schema(
        parameters=[FilterSerializer, PAGE_PARAMETER], responses={200: paginated(TicketOutputSerializer)}
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        tickets = selectors.ticket_list(principal=principal_of(request), **filters.validated_data)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(tickets, request, view=self)
        return paginator.get_paginated_response(TicketOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: TicketOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = principal_of(request)
        # A subscriber's ticket is for their own client unless they name it (checked in the service).
        client_id = data.validated_data.pop("client_id", None) or principal.client_id
        if client_id is None:
            raise serializers.ValidationError({"client_id": [_("Say which client the ticket is for.")]})
        ticket = services.ticket_create(principal=principal, client_id=client_id, **data.validated_data)
        return Response(TicketOutputSerializer(ticket).data, status=status.HTTP_201_CREATED)
