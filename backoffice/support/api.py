"""HTTP API of the support service, mounted at /api/support/v1/.

Agents and admins reach every ticket; a subscriber only their own client's (another client's
ticket answers 404, as if it did not exist); services need ``support.read`` to read and
``support.write`` to open, change or comment. Errors are ``{"error", "detail"}`` (+ ``fields``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.drf import HasAnyRole, HasScope, principal_of
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.access.pagination import paginated_response
from backoffice.support import selectors, services
from backoffice.support.models import Ticket, TicketComment, TicketSource, TicketStatus

_CAN_READ = HasAnyRole("agent", "admin", "subscriber") | HasScope("support.read")
_CAN_WRITE = HasAnyRole("agent", "admin", "subscriber") | HasScope("support.write")


class _ReadWriteApi(APIView):
    def get_permissions(self) -> list[Any]:
        permission = _CAN_READ if self.request.method in ("GET", "HEAD", "OPTIONS") else _CAN_WRITE
        return [permission()]


# --- output ---------------------------------------------------------------------------------------


class TicketOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = [
            "id",
            "client_id",
            "subject",
            "body",
            "status",
            "source",
            "conversation_id",
            "created_by",
            "created_at",
            "updated_at",
        ]


class CommentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketComment
        fields = ["id", "body", "author", "by_subscriber", "created_at"]


# --- endpoints ------------------------------------------------------------------------------------


class TicketListApi(_ReadWriteApi):
    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False, min_value=1, max_value=fields.BIGINT_MAX)
        status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)

    class InputSerializer(serializers.Serializer):
        client_id = fields.IntegerField(required=False, min_value=1)
        subject = fields.CharField(max_length=200)
        body = fields.CharField(required=False, default="", allow_blank=True)
        source = serializers.ChoiceField(  # type: ignore[assignment]  # a field, not Field.source
            choices=TicketSource.choices,
            required=False,
            help_text="Only services may say where a ticket comes from (the bot: bot); staff open "
            "agent tickets and subscribers portal tickets.",
        )
        conversation_id = fields.CharField(max_length=100, required=False, default="", allow_blank=True)

    @extend_schema(
        operation_id="tickets_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(TicketOutputSerializer)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        tickets = selectors.ticket_list(principal=principal_of(request), **filters.validated_data)
        return paginated_response(request, self, tickets, TicketOutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: TicketOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = principal_of(request)
        fields = dict(data.validated_data)
        # A subscriber's ticket is for their own client unless they name it (checked in the service).
        client_id = fields.pop("client_id", None) or principal.client_id
        if client_id is None:
            raise serializers.ValidationError({"client_id": [_("Say which client the ticket is for.")]})
        ticket = services.ticket_create(principal=principal, client_id=client_id, **fields)
        return Response(TicketOutputSerializer(ticket).data, status=status.HTTP_201_CREATED)


class TicketDetailApi(_ReadWriteApi):
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=TicketStatus.choices)

    @extend_schema(responses={200: TicketOutputSerializer})
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = selectors.ticket_get(principal=principal_of(request), ticket_id=ticket_id)
        return Response(TicketOutputSerializer(ticket).data)

    @extend_schema(request=InputSerializer, responses={200: TicketOutputSerializer, **error_responses(409)})
    def patch(self, request: Request, ticket_id: int) -> Response:
        principal = principal_of(request)
        ticket = selectors.ticket_get(principal=principal, ticket_id=ticket_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ticket = services.ticket_status_change(
            principal=principal, ticket=ticket, status=body.validated_data["status"]
        )
        return Response(TicketOutputSerializer(ticket).data)


class TicketCommentListApi(_ReadWriteApi):
    class InputSerializer(serializers.Serializer):
        body = fields.CharField(max_length=5000)

    @extend_schema(parameters=[PAGE_PARAMETER], responses={200: paginated(CommentOutputSerializer)})
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = selectors.ticket_get(principal=principal_of(request), ticket_id=ticket_id)
        return paginated_response(
            request, self, selectors.ticket_comment_list(ticket=ticket), CommentOutputSerializer
        )

    @extend_schema(request=InputSerializer, responses={201: CommentOutputSerializer, **error_responses(409)})
    def post(self, request: Request, ticket_id: int) -> Response:
        principal = principal_of(request)
        ticket = selectors.ticket_get(principal=principal, ticket_id=ticket_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = services.ticket_comment_add(
            principal=principal, ticket=ticket, body=body.validated_data["body"]
        )
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)
