"""Django admin of the billing service. Documents are read-only here: money moves only
through the service functions (manual payments, credit notes, promises, billing run), which
lock the account, number the documents and write the events to the outbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.access.errors import DomainError
from backoffice.billing import invoicing, ledger, services
from backoffice.billing.models import (
    BillingAccount,
    BillingSubscription,
    CreditNote,
    DunningSettings,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMethod,
)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = (
        "position",
        "description",
        "days",
        "period_days",
        "subtotal",
        "tax_rate",
        "tax",
        "total",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(_ReadOnly):
    list_display = (
        "number",
        "client_id",
        "customer_name",
        "period_start",
        "total",
        "amount_paid",
        "status",
        "due_date",
    )
    list_filter = ("status", "period_start")
    search_fields = ("number", "customer_name", "customer_identification", "client_id")
    inlines = [InvoiceLineInline]
    actions = ["credit_in_full"]

    @admin.action(description=_("Issue a credit note for what is left of the selected invoices"))
    def credit_in_full(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        now = timezone.now()
        for invoice in queryset:
            left = invoice.total - sum((n.total for n in invoice.credit_notes.all()), Decimal("0.00"))
            rate = invoice.lines.values_list("tax_rate", flat=True).first() or Decimal("0")
            try:
                services.credit_note_issue(
                    invoice=invoice,
                    subtotal=(left / (1 + rate)).quantize(Decimal("0.01")),
                    tax_rate=rate,
                    reason=str(_("Credited in full by staff")),
                    now=now,
                    issued_by=request.user.get_username(),
                )
            except DomainError as exc:
                self.message_user(request, f"{invoice.number}: {exc.message}", messages.ERROR)


@admin.register(CreditNote)
class CreditNoteAdmin(_ReadOnly):
    list_display = ("number", "invoice", "client_id", "total", "reason", "created_at")
    search_fields = ("number", "invoice__number")


class ManualPaymentForm(forms.ModelForm):
    method = forms.ChoiceField(
        choices=[(PaymentMethod.CASH, _("Cash")), (PaymentMethod.TRANSFER, _("Bank transfer"))]
    )

    class Meta:
        model = Payment
        fields = ("client_id", "amount", "method", "reference", "received_at")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Staff add cash and transfer payments here; saving goes through ``ledger.payment_record``."""

    form = ManualPaymentForm
    list_display = ("received_at", "client_id", "amount", "method", "reference", "recorded_by", "unallocated")
    list_filter = ("method",)
    search_fields = ("client_id", "reference", "gateway_payment_id")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Payment, form: Any, change: bool) -> None:
        payment, _created = ledger.payment_record(
            client_id=obj.client_id,
            amount=obj.amount,
            method=obj.method,
            reference=obj.reference,
            recorded_by=request.user.get_username(),
            received_at=obj.received_at,
            now=timezone.now(),
        )
        obj.pk = payment.pk

    def response_add(self, request: HttpRequest, obj: Payment, post_url_continue: str | None = None) -> Any:
        return HttpResponseRedirect("../")


@admin.register(BillingAccount)
class BillingAccountAdmin(_ReadOnly):
    list_display = ("client_id", "name", "billing_email", "overdue", "promise_until")
    list_filter = ("overdue",)
    search_fields = ("client_id", "name", "identification")
    actions = ["promise_seven_days"]

    @admin.action(description=_("Grant a 7-day promise to pay (defers suspension)"))
    def promise_seven_days(self, request: HttpRequest, queryset: QuerySet[BillingAccount]) -> None:
        for account in queryset:
            services.promise_to_pay_grant(
                client_id=account.client_id,
                days=7,
                today=timezone.localdate(),
                granted_by=request.user.get_username(),
            )


@admin.register(BillingSubscription)
class BillingSubscriptionAdmin(_ReadOnly):
    list_display = ("subscription_id", "client_id", "billing_day", "start_date", "end_date")
    search_fields = ("subscription_id", "client_id")
    actions = ["issue_this_month"]

    @admin.action(description=_("Issue this month's invoice (if missing)"))
    def issue_this_month(self, request: HttpRequest, queryset: QuerySet[BillingSubscription]) -> None:
        today = timezone.localdate()
        for subscription in queryset:
            invoicing.invoice_issue(subscription=subscription, month=today, today=today, now=timezone.now())


@admin.register(DunningSettings)
class DunningSettingsAdmin(admin.ModelAdmin):
    list_display = ("reminder_offsets", "grace_days", "due_days")
