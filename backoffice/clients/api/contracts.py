"""Clients API: a subscription's contracts, their PDFs and their acceptance."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.client_ip import client_ip
from backoffice.access.drf import HasAnyRole, principal_of
from backoffice.access.openapi import PAGE_PARAMETER, error_responses, paginated
from backoffice.access.pagination import paginated_response
from backoffice.clients import selectors, services
from backoffice.clients.api.common import CanReadOwn, _only_client_id
from backoffice.clients.api.serializers import AcceptanceOutput, ContractOutput
from backoffice.clients.models import (
    Language,
)

# --- contracts -----------------------------------------------------------------------------------------


class ContractListApi(APIView):
    permission_classes = [CanReadOwn]

    @extend_schema(
        operation_id="contracts_list", parameters=[PAGE_PARAMETER], responses={200: paginated(ContractOutput)}
    )
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = selectors.subscription_get(
            subscription_id=subscription_id, only_client_id=_only_client_id(request)
        )
        documents = selectors.contract_list(subscription=subscription)
        latest = documents.values_list("version", flat=True).first()
        return paginated_response(request, self, documents, ContractOutput, latest=latest)


class ContractPdfApi(APIView):
    permission_classes = [CanReadOwn]

    @extend_schema(operation_id="contracts_pdf", responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, subscription_id: int, version: int, language: str) -> HttpResponse:
        subscription = selectors.subscription_get(
            subscription_id=subscription_id, only_client_id=_only_client_id(request)
        )
        document = selectors.contract_get(subscription=subscription, version=version, language=language)
        response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="contrato-{subscription.pk}-v{version}-{language}.pdf"'
        )
        response["X-Content-SHA256"] = document.sha256
        return response


class ContractAcceptApi(APIView):
    """The subscriber's click-to-accept of the current version (who, when, IP and hash recorded)."""

    permission_classes = [HasAnyRole("subscriber")]

    class InputSerializer(serializers.Serializer):
        language = serializers.ChoiceField(choices=Language.choices, default=Language.ES)
        sha256 = fields.CharField(
            max_length=64, required=False, help_text="The hash of the document the subscriber read (checked)."
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: AcceptanceOutput, **error_responses(409)},
    )
    def post(self, request: Request, subscription_id: int, version: int) -> Response:
        only = _only_client_id(request)
        subscription = selectors.subscription_get(subscription_id=subscription_id, only_client_id=only)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = selectors.contract_get(
            subscription=subscription, version=version, language=body.validated_data["language"]
        )
        if body.validated_data.get("sha256") not in (None, document.sha256):
            raise serializers.ValidationError(
                {"sha256": [gettext_lazy("This is not the hash of that contract.")]}
            )
        acceptance = services.contract_accept(
            document=document,
            user_subject=principal_of(request).subject,
            client_id=subscription.client_id,
            ip=client_ip(request),
            now=timezone.now(),
        )
        return Response(AcceptanceOutput(acceptance).data, status=status.HTTP_201_CREATED)
