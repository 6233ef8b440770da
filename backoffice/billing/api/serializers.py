"""Output serializers of the billing API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from backoffice.billing.api.common import _MONEY
from backoffice.billing.models import InvoiceStatus, PaymentMethod

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
