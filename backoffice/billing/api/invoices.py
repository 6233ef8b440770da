"""Billing API: invoices, their PDFs and credit notes."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.drf import principal_of
from backoffice.access.openapi import PAGE_PARAMETER, paginated
from backoffice.access.pagination import paginated_response
from backoffice.billing import documents, selectors, services
from backoffice.billing.api.common import _LANGUAGE, CanRead, CanWrite, _language
from backoffice.billing.api.serializers import CreditNoteOutput, InvoiceDetailOutput, InvoiceOutput
from backoffice.billing.models import Invoice, InvoiceStatus

# --- invoices ---------------------


class InvoiceListApi(APIView):
    permission_classes = [CanRead]

    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False, min_value=1, max_value=fields.BIGINT_MAX)
        status = serializers.ChoiceField(choices=InvoiceStatus.choices, required=False)

    @extend_schema(
        operation_id="invoices_list",
        parameters=[FilterSerializer, PAGE_PARAMETER],
        responses={200: paginated(InvoiceOutput)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        invoices = selectors.invoice_list(**filters.validated_data).select_related("subscription")
        return paginated_response(request, self, invoices, InvoiceOutput)


class InvoiceDetailApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(responses=InvoiceDetailOutput)
    def get(self, request: Request, number: str) -> Response:
        return Response(InvoiceDetailOutput(selectors.invoice_get(number=number)).data)


_PDF = OpenApiResponse(OpenApiTypes.BINARY, description="application/pdf")


def _pdf_response(invoice: Invoice, language: str | None) -> HttpResponse:
    response = HttpResponse(
        documents.invoice_pdf(invoice=invoice, language=language), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


class InvoicePdfApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(parameters=[_LANGUAGE], responses={(200, "application/pdf"): _PDF})
    def get(self, request: Request, number: str) -> HttpResponse:
        return _pdf_response(selectors.invoice_get(number=number), _language(request))


class CreditNoteCreateApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        subtotal = fields.money(positive=True)
        tax_rate = fields.rate()
        reason = fields.CharField(max_length=300)

    @extend_schema(request=InputSerializer, responses={201: CreditNoteOutput})
    def post(self, request: Request, number: str) -> Response:
        invoice = selectors.invoice_get(number=number)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = services.credit_note_issue(
            invoice=invoice,
            now=timezone.now(),
            issued_by=principal_of(request).subject,
            **body.validated_data,
        )
        return Response(CreditNoteOutput(note).data, status=status.HTTP_201_CREATED)
