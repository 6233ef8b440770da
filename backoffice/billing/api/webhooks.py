"""Billing API: the payment gateways' webhooks."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access.openapi import ERROR_REF
from backoffice.billing import payments
from backoffice.billing.gateways.base import GatewayError, WebhookRejected

logger = logging.getLogger(__name__)

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
