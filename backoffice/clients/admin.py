"""Django admin of the clients service. Every write goes through ``services.py`` (the same
validation as the API, and the events in the outbox): each form calls its service in
``clean`` so a refusal shows on the field at fault, and ``save_model`` has nothing left to do.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from backoffice.access.errors import DomainError
from backoffice.clients import services
from backoffice.clients.models import (
    Client,
    ContractAcceptance,
    ContractDocument,
    ContractTemplate,
    Plan,
    RouterPool,
    Subscription,
)


class _ServiceForm(forms.ModelForm):
    """A model form whose ``clean`` applies the change through a service function."""

    def apply(self, data: dict[str, Any]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if self.errors:
            return data
        try:
            self.instance = self.apply(data)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        except DomainError as exc:
            self.add_error(None, exc.message)
        return data

    def _post_clean(self) -> None:
        # The service validated and saved; Django's own instance validation would see a
        # saved row as a duplicate of itself.
        pass


class ClientForm(_ServiceForm):
    class Meta:
        model = Client
        fields = (
            "kind",
            "name",
            "identification_type",
            "identification",
            "email",
            "billing_email",
            "phone",
            "address",
            "city",
            "latitude",
            "longitude",
            "language",
            "status",
        )

    def apply(self, data: dict[str, Any]) -> Client:
        values: dict[str, Any] = {field: data.get(field) for field in self.Meta.fields}
        for field in ("email", "billing_email", "phone", "address", "city"):
            values[field] = values[field] or ""
        if self.instance.pk:
            return services.client_update(client=self.instance, now=timezone.now(), **values)
        return services.client_create(now=timezone.now(), **values)


class PlanForm(_ServiceForm):
    class Meta:
        model = Plan
        fields = (
            "code",
            "name",
            "download",
            "upload",
            "monthly_price",
            "tax_rate",
            "installation_fee",
            "term_months",
            "active",
        )

    def apply(self, data: dict[str, Any]) -> Plan:
        values: dict[str, Any] = {field: data.get(field) for field in self.Meta.fields}
        if self.instance.pk:
            values.pop("code")
            return services.plan_update(
                plan=Plan.objects.get(pk=self.instance.pk), now=timezone.now(), **values
            )
        return services.plan_create(now=timezone.now(), **values)


class SubscriptionForm(_ServiceForm):
    class Meta:
        model = Subscription
        fields = ("client", "plan", "router", "address", "pppoe_username", "billing_day", "start_date")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pppoe_username"].required = False
        self.fields["pppoe_username"].help_text = "Generated when left blank."

    def apply(self, data: dict[str, Any]) -> Subscription:
        return services.subscription_create(
            client=data["client"],
            plan=data["plan"],
            router=data["router"],
            address=data.get("address") or None,
            pppoe_username=data.get("pppoe_username") or None,
            billing_day=data["billing_day"],
            start_date=data["start_date"],
            now=timezone.now(),
        )


class _ServiceAdmin(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass  # saved by the service in the form's clean

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retired or cancelled through their status, never deleted


@admin.register(Client)
class ClientAdmin(_ServiceAdmin):
    form = ClientForm
    list_display = ("id", "name", "identification", "email", "city", "status")
    list_filter = ("status", "kind", "identification_type", "language")
    search_fields = ("name", "identification", "email", "subscriptions__pppoe_username")


@admin.register(Plan)
class PlanAdmin(_ServiceAdmin):
    form = PlanForm
    list_display = ("code", "name", "download", "upload", "monthly_price", "tax_rate", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")


@admin.register(Subscription)
class SubscriptionAdmin(_ServiceAdmin):
    form = SubscriptionForm
    list_display = ("id", "client", "plan", "router", "pppoe_username", "address", "billing_day", "status")
    list_filter = ("status", "router", "plan")
    search_fields = ("pppoe_username", "client__name", "client__identification")
    actions = ["cancel_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Plan changes, moves and cancellations go through their own services (API or action).
        return (*SubscriptionForm.Meta.fields, "status", "end_date") if obj else ()

    @admin.action(description="Cancel the selected subscriptions")
    def cancel_selected(self, request: HttpRequest, queryset: Any) -> None:
        for subscription in queryset:
            services.subscription_cancel(subscription=subscription, now=timezone.now())


@admin.register(RouterPool)
class RouterPoolAdmin(admin.ModelAdmin):
    list_display = ("router", "network")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = services.router_pool_set(router=obj.router, network=obj.network)
        obj.pk = saved.pk


@admin.register(ContractTemplate)
class ContractTemplateAdmin(admin.ModelAdmin):
    list_display = ("isp_name", "isp_ruc", "active", "updated_at")
    readonly_fields = ("updated_at",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.contract_template_save(template=obj, now=timezone.now())


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ContractDocument)
class ContractDocumentAdmin(_ReadOnlyAdmin):
    """Contract versions are immutable: listed, never edited."""

    list_display = ("subscription", "version", "language", "sha256", "size", "rendered_at")
    list_filter = ("language",)
    exclude = ("pdf",)


@admin.register(ContractAcceptance)
class ContractAcceptanceAdmin(_ReadOnlyAdmin):
    list_display = ("document", "user_subject", "ip", "sha256", "accepted_at")
