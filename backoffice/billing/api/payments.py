"""Billing API: payments recorded by staff."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.drf import principal_of
from backoffice.access.openapi import PAGE_PARAMETER, paginated
from backoffice.access.pagination import paginated_response
from backoffice.billing import ledger, selectors
from backoffice.billing.api.common import CanRead, CanWrite, _account_of
from backoffice.billing.api.serializers import PaymentOutput
from backoffice.billing.models import PaymentMethod

# --- payments ---------------------


class PaymentListCreateApi(APIView):
    """Reading needs a reading role; recording a cash or transfer payment, billing or admin."""

    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False, min_value=1, max_value=fields.BIGINT_MAX)

    class InputSerializer(serializers.Serializer):
        client_id = fields.IntegerField(min_value=1)
        amount = fields.money(positive=True)
        method = serializers.ChoiceField(choices=[PaymentMethod.CASH, PaymentMethod.TRANSFER])
        reference = fields.CharField(
            max_length=200,
            required=False,
            default="",
            allow_blank=True,
            help_text="The bank reference: required for a transfer.",
        )
        received_at = serializers.DateTimeField(required=False)

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            if data["method"] == PaymentMethod.TRANSFER and not data["reference"]:
                raise serializers.ValidationError({"reference": _("A transfer needs its bank reference.")})
            return data

    def get_permissions(self) -> list[Any]:
        return [CanRead() if self.request.method in ("GET", "HEAD", "OPTIONS") else CanWrite()]

    @extend_schema(
        operation_id="payments_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(PaymentOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return paginated_response(
            request, self, selectors.payment_list(**filters.validated_data), PaymentOutput
        )

    @extend_schema(request=InputSerializer, responses={201: PaymentOutput})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        now = timezone.now()
        data = body.validated_data
        _account_of(data["client_id"])
        payment, _created = ledger.payment_record(
            client_id=data["client_id"],
            amount=data["amount"],
            method=data["method"],
            reference=data["reference"],
            recorded_by=principal_of(request).subject,
            received_at=data.get("received_at") or now,
            now=now,
        )
        return Response(PaymentOutput(payment).data, status=status.HTTP_201_CREATED)
