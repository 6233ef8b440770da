"""Billing API: a client's account, its ledger and promises to pay."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.access import fields
from backoffice.access.drf import principal_of
from backoffice.billing import selectors, services
from backoffice.billing.api.common import CanRead, CanWrite
from backoffice.billing.api.serializers import AccountOutput, LedgerEntryOutput

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
