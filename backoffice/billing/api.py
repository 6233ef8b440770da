"""HTTP API of the billing service, mounted at /api/billing/v1/.

Roles ``billing`` and ``admin`` write (manual payments, credit notes, promises to pay); they,
``agent`` and tokens with ``billing.read`` read every client's account; ``billing.pay_link``
(the chatbot) may create a checkout for a client. A subscriber reaches only their own account
under ``/me/``. Gateways' webhooks arrive unauthenticated at ``/webhooks/<gateway>``: their
signature is what is checked. Each endpoint parses its input, makes one domain call and shapes
the output.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.validators import URLValidator
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.drf import HasAnyRole, HasScope, principal_of
from backoffice.access.errors import DomainError, Forbidden, NotFound
from backoffice.access.openapi import ERROR_REF, PAGE_PARAMETER, error_responses, paginated
from backoffice.billing import documents, ledger, payments, selectors, services
from backoffice.billing.gateways import gateways_enabled
from backoffice.billing.gateways.base import GatewayError, WebhookRejected
from backoffice.billing.gateways.demo_gateway import DemoGateway
from backoffice.billing.models import Invoice, InvoiceStatus, PaymentMethod

logger = logging.getLogger(__name__)

WRITE_ROLES = ("billing", "admin")
CanRead = HasAnyRole("billing", "admin", "agent") | HasScope("billing.read")
CanWrite = HasAnyRole(*WRITE_ROLES)
CanPayLink = HasAnyRole(*WRITE_ROLES) | HasScope("billing.pay_link")


def _paginated(
    request: Request, view: APIView, items: Any, serializer: type[serializers.Serializer]
) -> Response:
    paginator = PageNumberPagination()
    page: Any = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _own_client_id(request: Request) -> int:
    principal = principal_of(request)
    if principal.client_id is None:
        raise Forbidden(_("Only subscribers have their own billing account."), code="not_a_subscriber")
    return principal.client_id


_MONEY = {"max_digits": 12, "decimal_places": 2}


def _account_of(client_id: int) -> None:
    """The body names a client that must have a billing account: a 400 on ``client_id`` if not
    (the URL was fine, so not a 404)."""
    try:
        selectors.account_get(client_id=client_id)
    except NotFound as exc:
        raise serializers.ValidationError({"client_id": [exc.message]}) from None


# A subscriber whose client has no billing account yet finds nothing of their own.
_NO_ACCOUNT = error_responses(404)
_GATEWAY_DOWN = {
    502: OpenApiResponse(ERROR_REF, description="The payment gateway refused the request; try again later."),
    503: OpenApiResponse(ERROR_REF, description="The payment gateway did not answer; try again."),
}
_LANGUAGE = OpenApiParameter(
    "language",
    str,
    enum=[code for code, _name in settings.LANGUAGES],
    required=False,
    description="The language of the PDF (default: the client's).",
)


def _language(request: Request) -> str | None:
    language = request.query_params.get("language")
    if language is not None and language not in dict(settings.LANGUAGES):
        raise serializers.ValidationError(
            {"language": [_("Use one of: %(all)s.") % {"all": ", ".join(dict(settings.LANGUAGES))}]}
        )
    return language


# --- output ---------------------


class AccountOutput(serializers.Serializer):
    client_id = serializers.IntegerField()
    name = serializers.CharField()
    balance = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    credit = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    overdue = serializers.BooleanField()
    promise_until = serializers.DateField(allow_null=True)
    open_invoices = serializers.IntegerField()
    next_due_date = serializers.DateField(allow_null=True)


class LedgerEntryOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["invoice", "payment", "credit_note"])
    document = serializers.CharField()
    debit = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    credit = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    balance = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]


class InvoiceLineOutput(serializers.Serializer):
    position = serializers.IntegerField()
    description = serializers.CharField()
    days = serializers.IntegerField()
    period_days = serializers.IntegerField()
    unit_price = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    subtotal = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    tax = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    total = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]


class InvoiceOutput(serializers.Serializer):
    number = serializers.CharField()
    client_id = serializers.IntegerField()
    subscription_id = serializers.IntegerField(source="subscription.subscription_id")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    issue_date = serializers.DateField()
    due_date = serializers.DateField()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    tax = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    total = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    amount_paid = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    amount_due = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)


class InvoiceDetailOutput(InvoiceOutput):
    customer_name = serializers.CharField()
    customer_identification = serializers.CharField()
    lines = InvoiceLineOutput(many=True)


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    client_id = serializers.IntegerField()
    amount = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    currency = serializers.CharField()
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    reference = serializers.CharField()
    recorded_by = serializers.CharField()
    received_at = serializers.DateTimeField()
    unallocated = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]


class CreditNoteOutput(serializers.Serializer):
    number = serializers.CharField()
    invoice_number = serializers.CharField(source="invoice.number")
    reason = serializers.CharField()
    subtotal = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    tax = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    total = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    created_at = serializers.DateTimeField()


class CheckoutOutput(serializers.Serializer):
    reference = serializers.UUIDField()
    gateway = serializers.CharField()
    demo = serializers.SerializerMethodField()
    amount = serializers.DecimalField(**_MONEY)  # type: ignore[arg-type]
    currency = serializers.CharField()
    invoice_number = serializers.CharField(source="invoice.number", allow_null=True, default=None)
    redirect_url = serializers.URLField()
    status = serializers.CharField()

    def get_demo(self, checkout: Any) -> bool:
        return bool(checkout.gateway == "demo")


# --- accounts ---------------------


class AccountDetailApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(responses=AccountOutput)
    def get(self, request: Request, client_id: int) -> Response:
        return Response(AccountOutput(selectors.account_summary(client_id=client_id)).data)


class AccountLedgerApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(responses=LedgerEntryOutput(many=True))
    def get(self, request: Request, client_id: int) -> Response:
        selectors.account_get(client_id=client_id)
        return Response(LedgerEntryOutput(selectors.ledger_entries(client_id=client_id), many=True).data)


class PromiseToPayApi(APIView):
    permission_classes = [CanWrite]

    class InputSerializer(serializers.Serializer):
        days = fields.IntegerField(min_value=1, max_value=60)

    @extend_schema(request=InputSerializer, responses=AccountOutput)
    def post(self, request: Request, client_id: int) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.promise_to_pay_grant(
            client_id=client_id,
            days=body.validated_data["days"],
            today=timezone.localdate(),
            granted_by=principal_of(request).subject,
        )
        return Response(AccountOutput(selectors.account_summary(client_id=client_id)).data)


# --- invoices ---------------------


class InvoiceListApi(APIView):
    permission_classes = [CanRead]

    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False)
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
        return _paginated(request, self, invoices, InvoiceOutput)


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


# --- payments ---------------------


class PaymentListCreateApi(APIView):
    """Reading needs a reading role; recording a cash or transfer payment, billing or admin."""

    class FilterSerializer(serializers.Serializer):
        client_id = serializers.IntegerField(required=False)

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
        return _paginated(request, self, selectors.payment_list(**filters.validated_data), PaymentOutput)

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


# --- checkouts (pay links) ---------------------


# The return URLs a checkout takes: http(s) to a host name, which Django's URL validator also
# accepts (it refuses host labels over 63 characters and names over 253, which a schema's
# "uri" format allows).
_RETURN_URL = (
    r"^https?://(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,3}[A-Za-z]{2,24}|localhost)"
    r"(?::[0-9]{1,5})?(?:/[!-~]*)?$"
)


def _return_url() -> fields.RegexField:
    return fields.RegexField(
        _RETURN_URL,
        max_length=1000,
        validators=[URLValidator(schemes=["http", "https"])],
        error_messages={"invalid": gettext_lazy("Enter an http(s) URL to a host name.")},
    )


class _CheckoutInput(serializers.Serializer):
    gateway = serializers.ChoiceField(choices=[], help_text="One of the gateways enabled here.")
    invoice_number = fields.CharField(max_length=17, required=False, help_text="Pay this invoice only.")
    success_url = _return_url()
    cancel_url = _return_url()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Which gateways are enabled is configuration, read when the request (or schema) is made.
        gateway: Any = self.fields["gateway"]
        gateway.choices = gateways_enabled()


def _checkout_start(client_id: int, data: dict[str, Any]) -> Response:
    invoice = None
    if data.get("invoice_number"):
        try:
            invoice = selectors.invoice_get(number=data["invoice_number"], client_id=client_id)
        except DomainError as exc:
            raise DomainError(exc.message, code=exc.code) from None  # in the body: a 400, not a 404
    try:
        checkout = payments.checkout_start(
            client_id=client_id,
            gateway=data["gateway"],
            success_url=data["success_url"],
            cancel_url=data["cancel_url"],
            invoice=invoice,
            now=timezone.now(),
        )
    except GatewayError as exc:
        logger.warning("checkout for client %s at %s failed: %s", client_id, data["gateway"], exc.message)
        return Response(
            {"error": "gateway_unavailable", "detail": _("The payment gateway did not answer; try again.")},
            status=status.HTTP_503_SERVICE_UNAVAILABLE if exc.retryable else status.HTTP_502_BAD_GATEWAY,
        )
    return Response(CheckoutOutput(checkout).data, status=status.HTTP_201_CREATED)


class CheckoutCreateApi(APIView):
    """A pay link for a client (staff, or the chatbot with ``billing.pay_link``)."""

    permission_classes = [CanPayLink]

    class InputSerializer(_CheckoutInput):
        client_id = fields.IntegerField(min_value=1)

    @extend_schema(request=InputSerializer, responses={201: CheckoutOutput, **_GATEWAY_DOWN})
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        _account_of(body.validated_data["client_id"])
        return _checkout_start(body.validated_data["client_id"], body.validated_data)


# --- webhooks ---------------------


class WebhookApi(APIView):
    """A gateway's webhook: its signature is its authentication."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={
            200: inline_serializer(
                "WebhookOutcome", {"event_id": serializers.CharField(), "result": serializers.CharField()}
            ),
            400: OpenApiResponse(
                ERROR_REF,
                description="Unsigned, wrongly signed, stale or malformed, or for a gateway not "
                "enabled here: not applied (webhook_rejected, gateway_error).",
            ),
            503: OpenApiResponse(
                ERROR_REF, description="The gateway could not be asked: deliver again later."
            ),
        },
        auth=[],
    )
    def post(self, request: Request, gateway: str) -> Response:
        try:
            outcome = payments.webhook_receive(
                gateway=gateway, body=request.body, headers=dict(request.headers), now=timezone.now()
            )
        except WebhookRejected as exc:
            return Response(
                {"error": "webhook_rejected", "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST
            )
        except GatewayError as exc:
            if not exc.retryable:
                logger.error("%s webhook cannot be applied: %s", gateway, exc.message)
                return Response(
                    {"error": "gateway_error", "detail": exc.message}, status=status.HTTP_400_BAD_REQUEST
                )
            return Response(
                {"error": "gateway_unavailable", "detail": exc.message},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"event_id": outcome.event_id, "result": outcome.result})


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
        return _paginated(request, self, invoices, InvoiceOutput)


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
        return _paginated(
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
