"""Network API: a subscriber's services and their suspension, reactivation and termination."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.access.pagination import paginated_response
from backoffice.network import selectors, services
from backoffice.network.api.common import CanWrite, _ReadWriteApi, _router_named
from backoffice.network.api.serializers import ServiceOutput, _speed_field
from backoffice.network.models import ServiceStatus, SuspensionReason

# --- services ---------------------------------------------------------------------------------------


class ServiceListCreateApi(_ReadWriteApi):
    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False, min_value=1, max_value=fields.BIGINT_MAX)
        router = fields.SlugField(required=False)
        status = serializers.ChoiceField(choices=ServiceStatus.choices, required=False)

    class InputSerializer(serializers.Serializer):
        subscription_id = fields.IntegerField(min_value=1)
        client_id = fields.IntegerField(min_value=1)
        router = fields.SlugField(max_length=64)
        pppoe_username = fields.RegexField(
            r"^[^\s\x00]+$",
            max_length=64,
            error_messages={"invalid": gettext_lazy("The user name cannot contain spaces.")},
        )
        pppoe_password = fields.CharField(max_length=128, write_only=True)
        address = serializers.IPAddressField(protocol="IPv4", required=False, allow_null=True, default=None)
        plan_code = fields.CharField(max_length=64)
        download = _speed_field()
        upload = _speed_field()

    @extend_schema(
        operation_id="services_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(ServiceOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return paginated_response(
            request, self, selectors.service_list(**filters.validated_data), ServiceOutput
        )

    @extend_schema(request=InputSerializer, responses={201: ServiceOutput, **error_responses(409)})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["router"] = _router_named(data["router"])
        service = services.service_create(**data, now=timezone.now())
        return Response(ServiceOutput(service).data, status=status.HTTP_201_CREATED)


class ServiceDetailApi(_ReadWriteApi):
    class InputSerializer(serializers.Serializer):
        plan_code = fields.CharField(max_length=64, required=False)
        download = _speed_field(required=False)
        upload = _speed_field(required=False)
        pppoe_password = fields.CharField(max_length=128, write_only=True, required=False)
        address = serializers.IPAddressField(protocol="IPv4", required=False)
        router = fields.SlugField(max_length=64, required=False)

    @extend_schema(responses={200: ServiceOutput})
    def get(self, request: Request, subscription_id: int) -> Response:
        return Response(ServiceOutput(selectors.service_get(subscription_id=subscription_id)).data)

    @extend_schema(request=InputSerializer, responses={200: ServiceOutput, **error_responses(409)})
    def patch(self, request: Request, subscription_id: int) -> Response:
        service = selectors.service_get(subscription_id=subscription_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if "router" in data:
            data["router"] = _router_named(data["router"])
        service = services.service_update(service=service, **data, now=timezone.now())
        return Response(ServiceOutput(service).data)


class ServiceSuspendApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=SuspensionReason.choices, default=SuspensionReason.MANUAL)

    @extend_schema(request=InputSerializer, responses={200: ServiceOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        service = selectors.service_get(subscription_id=subscription_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        service = services.service_suspend(
            service=service, reason=body.validated_data["reason"], now=timezone.now()
        )
        return Response(ServiceOutput(service).data)


class ServiceReactivateApi(APIView):
    permission_classes = [CanWrite]

    @extend_schema(request=None, responses={200: ServiceOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        service = selectors.service_get(subscription_id=subscription_id)
        service = services.service_reactivate(service=service, now=timezone.now())
        return Response(ServiceOutput(service).data)


class ServiceTerminateApi(APIView):
    permission_classes = [CanWrite]

    @extend_schema(request=None, responses={200: ServiceOutput, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        service = selectors.service_get(subscription_id=subscription_id)
        service = services.service_terminate(service=service, now=timezone.now())
        return Response(ServiceOutput(service).data)
