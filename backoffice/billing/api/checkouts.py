"""Billing API: checkouts (pay links) through a payment gateway."""

from __future__ import annotations

import logging
from typing import Any

from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.errors import DomainError
from backoffice.billing import payments, selectors
from backoffice.billing.api.common import _GATEWAY_DOWN, CanPayLink, _account_of
from backoffice.billing.api.serializers import CheckoutOutput
from backoffice.billing.gateways import gateways_enabled
from backoffice.billing.gateways.base import GatewayError

logger = logging.getLogger(__name__)


# --- checkouts (pay links) ---------------------


# The return URLs a checkout takes: http(s) to a host name or an IPv4 address (the embedded
# portal is http://127.0.0.1:8000), which Django's URL validator also accepts (it refuses host
# labels over 63 characters and names over 253, which a schema's "uri" format allows).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_RETURN_URL = (
    r"^https?://(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,3}[A-Za-z]{2,24}|localhost"
    rf"|(?:{_OCTET}\.){{3}}{_OCTET})"
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
