"""Clients API: the plans and their prices."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.access import fields
from backoffice.access.openapi import PAGE_PARAMETER, paginated
from backoffice.access.pagination import paginated_response
from backoffice.clients import selectors, services
from backoffice.clients.api.common import CanReadOwn, _ReadWriteApi
from backoffice.clients.api.serializers import PlanOutput, _speed

# --- plans ----------------------------------------------------------------------------------------------


class PlanListCreateApi(_ReadWriteApi):
    # Every signed-in user may see the plans on offer (a subscriber compares them).
    read_permission = CanReadOwn

    class FilterSerializer(serializers.Serializer):
        active = serializers.BooleanField(required=False)

    class InputSerializer(serializers.Serializer):
        code = fields.SlugField(max_length=64)
        name = fields.CharField(max_length=120)
        download = _speed()
        upload = _speed()
        monthly_price = fields.money(max_digits=10)
        tax_rate = fields.rate(default=Decimal("0.15"))
        installation_fee = fields.money(max_digits=10, default=Decimal("0.00"))
        term_months = fields.IntegerField(min_value=0, max_value=120, default=12)
        active = fields.BooleanField(default=True)

    @extend_schema(
        operation_id="plans_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(PlanOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        plans = selectors.plan_list(active=filters.validated_data.get("active"))
        return paginated_response(request, self, plans, PlanOutput)

    @extend_schema(request=InputSerializer, responses={201: PlanOutput})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = services.plan_create(**body.validated_data, now=timezone.now())
        return Response(PlanOutput(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailApi(_ReadWriteApi):
    read_permission = CanReadOwn

    class InputSerializer(serializers.Serializer):
        name = fields.CharField(max_length=120, required=False)
        download = _speed(required=False)
        upload = _speed(required=False)
        monthly_price = fields.money(max_digits=10, required=False)
        tax_rate = fields.rate(required=False)
        installation_fee = fields.money(max_digits=10, required=False)
        term_months = fields.IntegerField(min_value=0, max_value=120, required=False)
        active = fields.BooleanField(required=False)
        price_effective_from = serializers.DateField(
            required=False,
            help_text="From when a new price applies (default today); each subscription "
            "gets it from its first billing date on or after that day.",
        )

    @extend_schema(responses={200: PlanOutput})
    def get(self, request: Request, code: str) -> Response:
        return Response(PlanOutput(selectors.plan_get(code=code)).data)

    @extend_schema(request=InputSerializer, responses={200: PlanOutput})
    def patch(self, request: Request, code: str) -> Response:
        plan = selectors.plan_get(code=code)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = services.plan_update(plan=plan, **body.validated_data, now=timezone.now())
        return Response(PlanOutput(plan).data)
