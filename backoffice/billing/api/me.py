"""Billing API: the subscriber's own account, invoices, payments and checkouts."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access.errors import DomainError
from backoffice.access.openapi import PAGE_PARAMETER, paginated
from backoffice.access.pagination import paginated_response
from backoffice.billing import selectors
from backoffice.billing.api.checkouts import _checkout_start, _CheckoutInput
from backoffice.billing.api.common import (
    _GATEWAY_DOWN,
    _LANGUAGE,
    _NO_ACCOUNT,
    _language,
    _own_client_id,
)
from backoffice.billing.api.invoices import _PDF, _pdf_response
from backoffice.billing.api.serializers import (
    AccountOutput,
    CheckoutOutput,
    InvoiceDetailOutput,
    InvoiceOutput,
    LedgerEntryOutput,
    PaymentOutput,
)
from backoffice.billing.gateways import gateways_enabled
from backoffice.billing.gateways.demo_gateway import DemoGateway

# --- the subscriber's own ---------------------


class MyAccountOutput(AccountOutput):
    # The gateways the subscriber may pay with here (only "demo" when no keys are set).
    gateways = serializers.ListField(child=serializers.CharField())


class MyAccountApi(APIView):
    @extend_schema(responses={200: MyAccountOutput, **_NO_ACCOUNT})
    def get(self, request: Request) -> Response:
        summary = selectors.account_summary(client_id=_own_client_id(request))
        return Response(MyAccountOutput({**summary, "gateways": gateways_enabled()}).data)


class MyLedgerApi(APIView):
    @extend_schema(responses={200: LedgerEntryOutput(many=True), **_NO_ACCOUNT})
    def get(self, request: Request) -> Response:
        entries = selectors.ledger_entries(client_id=_own_client_id(request))
        return Response(LedgerEntryOutput(entries, many=True).data)


class MyInvoiceListApi(APIView):
    @extend_schema(
        operation_id="me_invoices_list",
        parameters=[PAGE_PARAMETER],
        responses={200: paginated(InvoiceOutput)},
    )
    def get(self, request: Request) -> Response:
        invoices = selectors.invoice_list(client_id=_own_client_id(request)).select_related("subscription")
        return paginated_response(request, self, invoices, InvoiceOutput)


class MyInvoiceDetailApi(APIView):
    @extend_schema(responses=InvoiceDetailOutput)
    def get(self, request: Request, number: str) -> Response:
        invoice = selectors.invoice_get(number=number, client_id=_own_client_id(request))
        return Response(InvoiceDetailOutput(invoice).data)


class MyInvoicePdfApi(APIView):
    @extend_schema(parameters=[_LANGUAGE], responses={(200, "application/pdf"): _PDF})
    def get(self, request: Request, number: str) -> HttpResponse:
        invoice = selectors.invoice_get(number=number, client_id=_own_client_id(request))
        return _pdf_response(invoice, _language(request))


class MyPaymentListApi(APIView):
    @extend_schema(
        operation_id="me_payments_list",
        parameters=[PAGE_PARAMETER],
        responses={200: paginated(PaymentOutput)},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request, self, selectors.payment_list(client_id=_own_client_id(request)), PaymentOutput
        )


class MyCheckoutCreateApi(APIView):
    @extend_schema(request=_CheckoutInput, responses={201: CheckoutOutput, **_NO_ACCOUNT, **_GATEWAY_DOWN})
    def post(self, request: Request) -> Response:
        client_id = _own_client_id(request)
        body = _CheckoutInput(data=request.data)
        body.is_valid(raise_exception=True)
        return _checkout_start(client_id, body.validated_data)


class MyCheckoutDetailApi(APIView):
    """The result page asks here; the answer comes from webhooks (or the gateway), never from
    the browser having come back to the success URL."""

    @extend_schema(responses=CheckoutOutput)
    def get(self, request: Request, reference: str) -> Response:
        checkout = selectors.checkout_get(reference=reference, client_id=_own_client_id(request))
        return Response(CheckoutOutput(checkout).data)


class MyDemoCheckoutCompleteApi(APIView):
    """The demo gateway's "pay" button (the portal's demo page plays the outside gateway): marks
    the subscriber's own demo checkout paid at the demo gateway and returns the signed webhook
    for the page to deliver to ``webhooks/demo``, so the payment is applied by the webhook path.
    Only for demo checkouts, and only where the demo gateway is the one enabled (no money moves).
    """

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "DemoWebhook", {"body": serializers.CharField(), "signature": serializers.CharField()}
            )
        },
    )
    def post(self, request: Request, reference: str) -> Response:
        checkout = selectors.checkout_get(reference=reference, client_id=_own_client_id(request))
        if checkout.gateway != "demo" or "demo" not in gateways_enabled():
            raise DomainError(_("This payment is not one of the demo gateway."), code="not_a_demo_checkout")
        body, signature = DemoGateway.from_settings().complete(
            gateway_checkout_id=checkout.gateway_checkout_id
        )
        return Response({"body": body.decode(), "signature": signature})
