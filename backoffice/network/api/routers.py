"""Network API: the routers."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.access.pagination import paginated_response
from backoffice.network import selectors, services
from backoffice.network.api.common import CanReadRouters, CanWrite, _ReadWriteApi
from backoffice.network.api.serializers import RouterOutput, _pool_field

# --- routers -------------------------------------------------------------------------------------


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
        return paginated_response(request, self, selectors.router_list(), RouterOutput)

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
