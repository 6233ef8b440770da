"""Clients API: subscriptions and their plan changes, moves and cancellations."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.drf import principal_of
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.access.pagination import paginated_response
from backoffice.clients import selectors, services
from backoffice.clients.api.common import CanReadOwn, CanWrite, _only_client_id, _ReadWriteApi
from backoffice.clients.api.serializers import _PPPOE_USERNAME, SubscriptionOutput
from backoffice.clients.models import (
    SubscriptionStatus,
)

# --- subscriptions ----------------------------------------------------------------------------------------


def _is_admin(request: Request) -> bool:
    principal = principal_of(request)
    return principal.has_any_role("admin") and not principal.is_delegated


class SubscriptionListCreateApi(_ReadWriteApi):
    read_permission = CanReadOwn

    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False, min_value=1, max_value=fields.BIGINT_MAX)
        router = serializers.SlugField(required=False)
        status = serializers.ChoiceField(choices=SubscriptionStatus.choices, required=False)
        plan = serializers.SlugField(required=False)
        pppoe_username = serializers.CharField(required=False)

    class InputSerializer(serializers.Serializer):
        client_id = fields.IntegerField(min_value=1)
        plan = fields.SlugField(max_length=64)
        router = fields.SlugField(max_length=64)
        billing_day = fields.IntegerField(min_value=1, max_value=28)
        start_date = serializers.DateField()
        address = serializers.IPAddressField(protocol="IPv4", required=False, allow_null=True, default=None)
        pppoe_username = fields.RegexField(
            _PPPOE_USERNAME, max_length=64, required=False, allow_null=True, default=None
        )

    @extend_schema(
        operation_id="subscriptions_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(SubscriptionOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        only = _only_client_id(request)
        if only is not None:
            data["client_id"] = only if data.get("client_id") in (None, only) else -1
        return paginated_response(
            request,
            self,
            selectors.subscription_list(**data),
            SubscriptionOutput,
            show_password=_is_admin(request),
        )

    @extend_schema(request=InputSerializer, responses={201: SubscriptionOutput, **error_responses(409)})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        client = _named(lambda: selectors.client_get(client_id=data.pop("client_id")), "client_id")
        plan = _named(lambda: selectors.plan_get(code=data.pop("plan")), "plan")
        subscription = services.subscription_create(client=client, plan=plan, **data, now=timezone.now())
        # The one time the PPPoE password is shown to anyone but an admin.
        return Response(
            SubscriptionOutput(subscription, context={"show_password": True}).data,
            status=status.HTTP_201_CREATED,
        )


def _named(load: Any, field: str) -> Any:
    """What the request body names; an unknown one is a 400 on that field (the URL was fine)."""
    from backoffice.access.errors import NotFound

    try:
        return load()
    except NotFound as exc:
        raise serializers.ValidationError({field: [exc.message]}) from None


class SubscriptionDetailApi(APIView):
    permission_classes = [CanReadOwn]

    @extend_schema(responses={200: SubscriptionOutput})
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(
            subscription_id=subscription_id, only_client_id=_only_client_id(request)
        )
        return Response(SubscriptionOutput(subscription, context={"show_password": _is_admin(request)}).data)


class SubscriptionChangePlanApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        plan = fields.SlugField(max_length=64)
        effective_date = serializers.DateField(required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses={200: SubscriptionOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(subscription_id=subscription_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = _named(lambda: selectors.plan_get(code=body.validated_data["plan"]), "plan")
        subscription = services.subscription_change_plan(
            subscription=subscription,
            plan=plan,
            effective_date=body.validated_data["effective_date"],
            now=timezone.now(),
        )
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionMoveApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        router = fields.SlugField(max_length=64)
        address = serializers.IPAddressField(protocol="IPv4", required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses={200: SubscriptionOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(subscription_id=subscription_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.subscription_move(
            subscription=subscription, **body.validated_data, now=timezone.now()
        )
        return Response(SubscriptionOutput(subscription).data)


class SubscriptionCancelApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        effective_date = serializers.DateField(required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses={200: SubscriptionOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(subscription_id=subscription_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.subscription_cancel(
            subscription=subscription, **body.validated_data, now=timezone.now()
        )
        return Response(SubscriptionOutput(subscription).data)
