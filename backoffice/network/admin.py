"""Django admin of the network service: routers, services and their command log (read-mostly).

Services are changed through ``services.py`` (the API), never by editing rows here, because
every change must bump the revision and send its command through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.access.errors import DomainError
from backoffice.network.models import Diagnosis, Router, Service, ServiceCommand, SuspensionReason
from backoffice.network.services import (
    router_reconcile_request,
    service_reactivate,
    service_suspend,
    service_terminate,
)

# A domain change applied to one service at a given time.
Change = Callable[[Service, datetime], object]


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

    actions = ["reconcile_selected"]

    @admin.action(description=_("Reconcile the selected routers (repair drift)"))
    def reconcile_selected(self, request: HttpRequest, queryset: QuerySet[Router]) -> None:
        for router in queryset:
            router_reconcile_request(router=router)
        self.message_user(
            request,
            ngettext(
                "Reconciliation requested for %(count)d router.",
                "Reconciliation requested for %(count)d routers.",
                queryset.count(),
            )
            % {"count": queryset.count()},
        )

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
    actions = ["suspend_selected", "reactivate_selected", "terminate_selected"]

    def _apply(self, request: HttpRequest, queryset: QuerySet[Service], change: Change, done: str) -> None:
        """Runs ``change`` on each service through the domain (revision, outbox); reports refusals."""
        now = timezone.now()
        changed = 0
        for service in queryset:
            try:
                change(service, now)
                changed += 1
            except DomainError as exc:
                self.message_user(request, f"{service.subscription_id}: {exc.message}", messages.ERROR)
        if changed:
            self.message_user(request, done % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Suspend the selected services (manual)"))
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        done = str(_("%(count)d service(s) will be suspended on the router."))
        self._apply(
            request,
            queryset,
            lambda service, now: service_suspend(service=service, reason=SuspensionReason.MANUAL, now=now),
            done,
        )

    @admin.action(description=_("Reactivate the selected services"))
    def reactivate_selected(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        done = str(_("%(count)d service(s) will be reactivated on the router."))
        self._apply(request, queryset, lambda svc, now: service_reactivate(service=svc, now=now), done)

    @admin.action(description=_("Terminate the selected services (removes them from the router)"))
    def terminate_selected(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        done = str(_("%(count)d service(s) will be removed from the router."))
        self._apply(request, queryset, lambda svc, now: service_terminate(service=svc, now=now), done)


@admin.register(Diagnosis)
class DiagnosisAdmin(admin.ModelAdmin):
    list_display = ("request_id", "service", "router_name", "requested_at", "completed_at", "online", "error")
    readonly_fields = [f.name for f in Diagnosis._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
