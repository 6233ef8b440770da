"""Django admin of the network service: routers, services and their command log (read-mostly).

Services are read-only here: they change only through the actions, which call the service
functions (a new revision and its command in the outbox), never by editing rows. Routers are
saved through ``router_create`` / ``router_update``, the API's own functions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

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
    router_create,
    router_reconcile,
    router_update,
    router_validate,
    service_reactivate,
    service_suspend,
    service_terminate,
)

# A domain change applied to one service at a given time.
Change = Callable[[Service, datetime], object]


_ROUTER_FORM_FIELDS = (
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
# Which form field a refusal of the router service is about.
_ROUTER_ERROR_FIELDS = {"invalid_port": "api_port", "invalid_pool": "address_pool", "duplicate": "name"}


class RouterForm(forms.ModelForm):
    """The router's fields, checked by the same service validation as the API."""

    # Write-only: the stored (sealed) password is never rendered; leave blank to keep it.
    password = forms.CharField(
        label=_("API password"),
        max_length=255,
        widget=forms.PasswordInput(render_value=False),
        required=False,
    )

    class Meta:
        model = Router
        fields = _ROUTER_FORM_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            cleaned.update(
                router_validate(
                    api_port=cleaned.get("api_port"),
                    address_pool=cleaned.get("address_pool") if "address_pool" in cleaned else None,
                )
            )
        except DomainError as exc:
            self.add_error(_ROUTER_ERROR_FIELDS.get(exc.code or ""), exc.message)
        return cleaned

    def router_values(self) -> dict[str, Any]:
        """What the service is given: every field on creation, only the changed ones (and never
        the name, nor a blank password) on a change."""
        data = self.cleaned_data
        if self.instance.pk is None:
            return {field: data[field] for field in _ROUTER_FORM_FIELDS if field in data}
        changed = {field: data[field] for field in self.changed_data if field in data and field != "name"}
        if not data.get("password"):
            changed.pop("password", None)
        return changed


@admin.register(Router)
class RouterAdmin(admin.ModelAdmin):
    form = RouterForm
    list_display = ("name", "host", "api_port", "api_ssl", "site", "active", "is_up", "last_seen_at")
    list_filter = ("active", "api_ssl", "site")
    search_fields = ("name", "host", "site")
    readonly_fields = ("last_seen_at", "is_up", "last_reconciled_at", "created_at", "updated_at")

    actions = ["reconcile_selected"]

    def save_model(self, request: HttpRequest, obj: Router, form: forms.ModelForm, change: bool) -> None:
        """Saves through ``router_create`` / ``router_update``, as the API does (validation,
        the sealed password), instead of ``obj.save()``."""
        assert isinstance(form, RouterForm)
        if change:
            saved = router_update(router=Router.objects.get(pk=obj.pk), **form.router_values())
        else:
            saved = router_create(**form.router_values())
        # The admin logs and redirects with ``obj``: make it the row the service wrote.
        obj.pk, obj.password = saved.pk, saved.password

    @admin.action(description=_("Reconcile the selected routers (repair drift)"))
    def reconcile_selected(self, request: HttpRequest, queryset: QuerySet[Router]) -> None:
        now = timezone.now()
        for router in queryset:
            router_reconcile(router=router, now=now)
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
    # The whole desired state and what the router reported: nothing here is edited in place.
    readonly_fields = [f.name for f in Service._meta.fields if f.name != "pppoe_password"]
    inlines = [ServiceCommandInline]
    actions = ["suspend_selected", "reactivate_selected", "terminate_selected"]

    # A service is created by the API or the clients consumer and changed only by the actions
    # below (service functions: a new revision and its command in the outbox); editing or
    # deleting a row here would leave the router and the portal out of step.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        # Without an object Django asks whether the change list's actions may run.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return False

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

    @admin.action(description=_("Suspend the selected services (manual)"), permissions=["change"])
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        done = str(_("%(count)d service(s) will be suspended on the router."))
        self._apply(
            request,
            queryset,
            lambda service, now: service_suspend(service=service, reason=SuspensionReason.MANUAL, now=now),
            done,
        )

    @admin.action(description=_("Reactivate the selected services"), permissions=["change"])
    def reactivate_selected(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        done = str(_("%(count)d service(s) will be reactivated on the router."))
        self._apply(request, queryset, lambda svc, now: service_reactivate(service=svc, now=now), done)

    @admin.action(
        description=_("Terminate the selected services (removes them from the router)"),
        permissions=["change"],
    )
    def terminate_selected(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        done = str(_("%(count)d service(s) will be removed from the router."))
        self._apply(request, queryset, lambda svc, now: service_terminate(service=svc, now=now), done)


@admin.register(Diagnosis)
class DiagnosisAdmin(admin.ModelAdmin):
    list_display = ("request_id", "service", "router_name", "requested_at", "completed_at", "online", "error")
    readonly_fields = [f.name for f in Diagnosis._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
