"""Clients API: the subscriber's own record."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access.drf import HasAnyRole
from backoffice.access.openapi import error_responses
from backoffice.clients import selectors
from backoffice.clients.api.common import _only_client_id
from backoffice.clients.api.serializers import ClientOutput, SubscriptionOutput
from backoffice.clients.models import (
    SubscriptionStatus,
)

# --- the subscriber's own record -------------------------------------------------------------------------


class MeApi(APIView):
    permission_classes = [HasAnyRole("subscriber")]

    class OutputSerializer(serializers.Serializer):
        client = ClientOutput()
        subscriptions = SubscriptionOutput(many=True)

    @extend_schema(responses={200: OutputSerializer, **error_responses(404)})
    def get(self, request: Request) -> Response:
        client_id = _only_client_id(request)
        assert client_id is not None  # a subscriber always has one (checked above)
        client = selectors.client_get(client_id=client_id)
        subscriptions = selectors.subscription_list(client_id=client_id, status=SubscriptionStatus.ACTIVE)
        return Response(self.OutputSerializer({"client": client, "subscriptions": subscriptions}).data)
