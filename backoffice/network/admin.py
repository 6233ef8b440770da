"""Django admin of the network service: routers, services and their command log (read-mostly).

Services are changed through ``services.py`` (the API), never by editing rows here, because
every change must bump the revision and send its command through the outbox.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from backoffice.network.models import Diagnosis, Router, Service, ServiceCommand


class RouterForm(forms.ModelForm):
    # Write-only: the stored password is never rendered; leave blank to keep it.
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False)

    class Meta:
        model = Router
        fields = (
            "name",
            "host",
            "api_port",
            "api_ssl",
            "username",
            "password",
            "site",
            "description",
            "address_pool",
            "active",
        )

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if not password and self.instance.pk:
            return self.instance.password
        return password


@admin.register(Router)
class RouterAdmin(admin.ModelAdmin):
    form = RouterForm
    list_display = ("name", "host", "api_port", "api_ssl", "site", "active", "is_up", "last_seen_at")
    list_filter = ("active", "api_ssl", "site")
    search_fields = ("name", "host", "site")
    readonly_fields = ("last_seen_at", "is_up", "last_reconciled_at", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Router | None = None) -> tuple[str, ...]:
        # The name keys the netagent's configuration and the Kafka partitioning.
        fields = tuple(self.readonly_fields)
        return (*fields, "name") if obj is not None else fields


class ServiceCommandInline(admin.TabularInline):
    model = ServiceCommand
    extra = 0
    can_delete = False
    fields = (
        "revision",
        "kind",
        "router_name",
        "status",
        "kick",
        "created_at",
        "result",
        "result_at",
        "error",
    )
    readonly_fields = fields
    ordering = ("-revision",)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = (
        "subscription_id",
        "client_id",
        "router",
        "pppoe_username",
        "address",
        "plan_code",
        "status",
        "suspension_reason",
        "revision",
        "applied_revision",
        "online",
    )
    list_filter = ("status", "suspension_reason", "router", "last_result")
    search_fields = ("=subscription_id", "=client_id", "pppoe_username", "address")
    exclude = ("pppoe_password",)
    inlines = [ServiceCommandInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Service | None = None) -> list[str]:
        return [f.name for f in Service._meta.fields if f.name != "pppoe_password"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return False


@admin.register(Diagnosis)
class DiagnosisAdmin(admin.ModelAdmin):
    list_display = ("request_id", "service", "router_name", "requested_at", "completed_at", "online", "error")
    readonly_fields = [f.name for f in Diagnosis._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
