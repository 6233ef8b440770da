"""Network API: line diagnoses and the commands a service was sent."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access.drf import HasScope, principal_of
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.access.pagination import paginated_response
from backoffice.network import selectors, services
from backoffice.network.api.common import CanDiagnose, CanRead
from backoffice.network.api.serializers import DiagnosisOutput


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
        return paginated_response(
            request, self, selectors.service_command_list(service=service), self.OutputSerializer
        )
