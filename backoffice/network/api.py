"""HTTP API of the network service, mounted at /api/network/v1/.

Staff (roles noc, admin) and services holding ``network.read`` / ``network.write`` reach every
service and router; a subscriber reads only their own services under ``/me/services/``.
Each endpoint parses its input, makes one domain call and shapes the output.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.drf import HasAnyRole, HasScope, principal_of
from backoffice.access.errors import DomainError, Forbidden, NotFound
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.network import selectors, services
from backoffice.network.models import Router, Service, ServiceStatus, SuspensionReason
from backoffice.network.services.validation import SPEED_RE

STAFF_ROLES = ("noc", "admin")
# Routers (hosts, ports, pools) are network staff's business only.
CanReadRouters = HasAnyRole(*STAFF_ROLES) | HasScope("network.read")
# Support agents read service states too: the agent console shows them beside the chat.
CanRead = HasAnyRole(*STAFF_ROLES, "agent") | HasScope("network.read")
CanWrite = HasAnyRole(*STAFF_ROLES) | HasScope("network.write")
# A line diagnosis changes nothing on the router: the support bot may run one without the power
# to suspend or move services that network.write carries.
CanDiagnose = CanWrite | HasScope("network.diagnose")

_SPEED_ERROR = gettext_lazy('Not a speed: use a number with k, M or G, e.g. "20M".')


def _speed_field(**kwargs: Any) -> serializers.RegexField:
    return fields.RegexField(SPEED_RE, max_length=16, error_messages={"invalid": _SPEED_ERROR}, **kwargs)


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# An IPv4 network as services.validate_pool reads it: an address, optionally /prefix (0-32).
_POOL_PATTERN = rf"^({_OCTET}\.){{3}}{_OCTET}(/(3[0-2]|[12]?[0-9]))?$"
_POOL_ERROR = gettext_lazy("Not an IPv4 network: write it as 10.20.0.0/24.")


def _pool_field(**kwargs: Any) -> fields.RegexField:
    return fields.RegexField(
        _POOL_PATTERN, max_length=43, allow_blank=True, error_messages={"invalid": _POOL_ERROR}, **kwargs
    )


class _ReadWriteApi(APIView):
    """Reads need ``read`` (network.read or a staff role), other methods network.write."""

    read: Any = CanRead

    def get_permissions(self) -> list[Any]:
        wanted = self.read if self.request.method in ("GET", "HEAD", "OPTIONS") else CanWrite
        return [wanted()]


def _paginated(
    request: Request, view: APIView, items: Any, serializer: type[serializers.Serializer]
) -> Response:
    paginator = PageNumberPagination()
    page: Any = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _router_named(name: str) -> Router:
    """The router a request body names; an unknown one is a 400 (the URL was fine)."""
    try:
        return selectors.router_get(name=name)
    except NotFound as exc:
        raise DomainError(exc.message, code="unknown_router") from None


# --- routers -------------------------------------------------------------------------------------


class RouterOutput(serializers.Serializer):
    # The password is write-only: it is never part of any output.
    name = serializers.CharField()
    host = serializers.CharField()
    api_port = serializers.IntegerField()
    api_ssl = serializers.BooleanField()
    username = serializers.CharField()
    has_password = serializers.SerializerMethodField()
    site = serializers.CharField()
    description = serializers.CharField()
    address_pool = serializers.CharField()
    active = serializers.BooleanField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    is_up = serializers.BooleanField(allow_null=True)
    last_reconciled_at = serializers.DateTimeField(allow_null=True)

    def get_has_password(self, router: Router) -> bool:
        return bool(router.password)


class RouterListCreateApi(_ReadWriteApi):
    read = CanReadRouters

    class InputSerializer(serializers.Serializer):
        name = fields.SlugField(max_length=64)
        host = fields.CharField(max_length=255)
        api_port = fields.IntegerField(min_value=1, max_value=65535, default=8728)
        api_ssl = fields.BooleanField(default=False)
        username = fields.CharField(max_length=100)
        password = fields.CharField(max_length=255, write_only=True, required=False, default="")
        site = fields.CharField(max_length=200, required=False, default="", allow_blank=True)
        description = fields.CharField(required=False, default="", allow_blank=True)
        address_pool = _pool_field(required=False, default="")
        active = fields.BooleanField(default=True)

    @extend_schema(
        operation_id="routers_list", parameters=[PAGE_PARAMETER], responses={200: paginated(RouterOutput)}
    )
    def get(self, request: Request) -> Response:
        return _paginated(request, self, selectors.router_list(), RouterOutput)

    @extend_schema(request=InputSerializer, responses={201: RouterOutput, **error_responses(409)})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        router = services.router_create(**body.validated_data)
        return Response(RouterOutput(router).data, status=status.HTTP_201_CREATED)


class RouterDetailApi(_ReadWriteApi):
    read = CanReadRouters

    class InputSerializer(serializers.Serializer):
        host = fields.CharField(max_length=255, required=False)
        api_port = fields.IntegerField(min_value=1, max_value=65535, required=False)
        api_ssl = fields.BooleanField(required=False)
        username = fields.CharField(max_length=100, required=False)
        password = fields.CharField(max_length=255, write_only=True, required=False)
        site = fields.CharField(max_length=200, required=False, allow_blank=True)
        description = fields.CharField(required=False, allow_blank=True)
        address_pool = _pool_field(required=False)
        active = fields.BooleanField(required=False)

    @extend_schema(responses={200: RouterOutput})
    def get(self, request: Request, name: str) -> Response:
        return Response(RouterOutput(selectors.router_get(name=name)).data)

    @extend_schema(request=InputSerializer, responses={200: RouterOutput})
    def patch(self, request: Request, name: str) -> Response:
        router = selectors.router_get(name=name)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        router = services.router_update(router=router, **body.validated_data)
        return Response(RouterOutput(router).data)

    @extend_schema(responses={204: None, **error_responses(409)})
    def delete(self, request: Request, name: str) -> Response:
        services.router_delete(router=selectors.router_get(name=name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RouterReconcileApi(APIView):
    permission_classes = [CanWrite]

    class OutputSerializer(serializers.Serializer):
        command_id = serializers.CharField()
        router = serializers.CharField()

    @extend_schema(request=None, responses={202: OutputSerializer})
    def post(self, request: Request, name: str) -> Response:
        router = selectors.router_get(name=name)
        envelope = services.router_reconcile_request(router=router)
        return Response(
            self.OutputSerializer({"command_id": envelope.id, "router": router.name}).data,
            status=status.HTTP_202_ACCEPTED,
        )


# --- services ---------------------------------------------------------------------------------------


class ServiceOutput(serializers.Serializer):
    # The PPPoE password is write-only too: the clients service hands it to the subscriber.
    subscription_id = serializers.IntegerField()
    client_id = serializers.IntegerField()
    router = serializers.CharField(source="router.name")
    pppoe_username = serializers.CharField()
    address = serializers.CharField()
    plan_code = serializers.CharField()
    speed = serializers.SerializerMethodField()
    status = serializers.CharField()
    suspension_reason = serializers.CharField()
    revision = serializers.IntegerField()
    applied_revision = serializers.IntegerField()
    in_sync = serializers.BooleanField()
    last_result = serializers.SerializerMethodField()
    online = serializers.BooleanField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_speed(self, service: Service) -> dict[str, str]:
        return {"download": service.download, "upload": service.upload}

    def get_last_result(self, service: Service) -> dict[str, Any] | None:
        if not service.last_result:
            return None
        return {
            "status": service.last_result,
            "message": service.last_result_message,
            "at": serializers.DateTimeField().to_representation(service.last_result_at)
            if service.last_result_at
            else None,
        }


class ServiceListCreateApi(_ReadWriteApi):
    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False)
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
        return _paginated(request, self, selectors.service_list(**filters.validated_data), ServiceOutput)

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


class DiagnosisOutput(serializers.Serializer):
    request_id = serializers.CharField()
    subscription_id = serializers.IntegerField(source="service.subscription_id")
    router = serializers.CharField(source="router_name")
    status = serializers.SerializerMethodField()
    requested_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    online = serializers.BooleanField(allow_null=True)
    address = serializers.CharField()
    uptime = serializers.CharField()
    caller_id = serializers.CharField()
    error = serializers.CharField()

    def get_status(self, diagnosis: Any) -> str:
        return "completed" if diagnosis.completed_at else "pending"


class ServiceDiagnoseApi(APIView):
    permission_classes = [CanDiagnose]

    class OutputSerializer(serializers.Serializer):
        request_id = serializers.CharField()
        status_url = serializers.CharField()

    @extend_schema(request=None, responses={202: OutputSerializer, **error_responses(409)})
    def post(self, request: Request, subscription_id: int) -> Response:
        service = selectors.service_get(subscription_id=subscription_id)
        diagnosis = services.service_diagnose(
            service=service, requested_by=principal_of(request).subject, now=timezone.now()
        )
        status_url = request.build_absolute_uri(
            reverse(
                "network:service-diagnosis",
                kwargs={"subscription_id": service.subscription_id, "request_id": diagnosis.request_id},
            )
        )
        return Response(
            self.OutputSerializer({"request_id": str(diagnosis.request_id), "status_url": status_url}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class ServiceDiagnosisDetailApi(APIView):
    permission_classes = [CanRead | HasScope("network.diagnose")]

    @extend_schema(responses={200: DiagnosisOutput})
    def get(self, request: Request, subscription_id: int, request_id: Any) -> Response:
        service = selectors.service_get(subscription_id=subscription_id)
        diagnosis = selectors.diagnosis_get(service=service, request_id=str(request_id))
        return Response(DiagnosisOutput(diagnosis).data)


class ServiceCommandListApi(APIView):
    permission_classes = [CanRead]

    class OutputSerializer(serializers.Serializer):
        command_id = serializers.CharField()
        revision = serializers.IntegerField()
        kind = serializers.CharField()
        router = serializers.CharField(source="router_name")
        status = serializers.CharField()
        kick = serializers.BooleanField()
        created_at = serializers.DateTimeField()
        result = serializers.CharField()
        result_at = serializers.DateTimeField(allow_null=True)
        error = serializers.CharField()

    @extend_schema(parameters=[PAGE_PARAMETER], responses={200: paginated(OutputSerializer)})
    def get(self, request: Request, subscription_id: int) -> Response:
        service = selectors.service_get(subscription_id=subscription_id)
        return _paginated(
            request, self, selectors.service_command_list(service=service), self.OutputSerializer
        )


# --- the subscriber's own services ---------------------------------------------------------------------


class MyServiceOutput(serializers.Serializer):
    subscription_id = serializers.IntegerField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    suspension_reason = serializers.CharField()
    suspension_reason_display = serializers.CharField(source="get_suspension_reason_display")
    plan_code = serializers.CharField()
    speed = serializers.SerializerMethodField()
    # Whether the router already applied the latest change (e.g. the reconnection after a payment).
    applied = serializers.BooleanField(source="in_sync")
    online = serializers.BooleanField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)

    def get_speed(self, service: Service) -> dict[str, str]:
        return {"download": service.download, "upload": service.upload}


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
