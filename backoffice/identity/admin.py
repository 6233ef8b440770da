"""Django admin for identity: users with their roles, OAuth2 client scopes, and the read-only audit log.

Signing in to the admin goes through ``services.admin_sign_in`` (``pages.AdminSignInView``);
the "Lift the sign-in lockout" action on users unlocks accounts before their window ends.

Users created here go through ``services.user_create`` so the ``identity.user.created`` event
is written as for the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.password_validation import validate_password
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.access.client_ip import client_ip
from backoffice.identity import services
from backoffice.identity.models import ActivationCode, AuditEvent, OAuthClientScopes, Role, User


class UserAddForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        label=_("roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )
    password = forms.CharField(label=_("password"), widget=forms.PasswordInput, required=False)

    class Meta:
        model = User
        fields = ["email", "full_name", "roles", "client_id", "language"]

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            validate_password(password)
        return password


class UserChangeForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        label=_("roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = User
        fields = [
            "email",
            "full_name",
            "roles",
            "client_id",
            "language",
            "email_verified",
            "is_active",
            "is_staff",
        ]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "full_name", "roles", "client_id", "language", "email_verified", "is_active"]
    list_filter = ["is_active", "email_verified", "language"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["sign_in_unlock"]

    @admin.action(description=_("Lift the sign-in lockout"), permissions=["change"])
    def sign_in_unlock(self, request: HttpRequest, queryset: Any) -> None:
        """Lets the selected accounts sign in again before their lockout window ends (audited)."""
        meta = services.RequestMeta(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))
        by = request.user.get_username()
        lifted = sum(
            services.sign_in_unlock(email=user.email, by=by, meta=meta) for user in queryset.only("email")
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d account was locked out and can sign in again.",
                "%(count)d accounts were locked out and can sign in again.",
                lifted,
            )
            % {"count": lifted},
            messages.SUCCESS,
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = UserChangeForm if obj is not None else UserAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["email", "password", "full_name", "roles", "client_id", "language"]
        return [*UserChangeForm.Meta.fields, "last_login", "date_joined"]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.user_create(
            email=data["email"],
            roles=list(data["roles"]),
            password=data.get("password") or None,
            full_name=data.get("full_name", ""),
            client_id=data.get("client_id"),
            language=data.get("language", "es"),
            created_by=request.user if isinstance(request.user, User) else None,
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "email", "ip_address", "user_agent"]
    list_filter = ["kind"]
    search_fields = ["email", "ip_address"]
    date_hierarchy = "created_at"


@admin.register(ActivationCode)
class ActivationCodeAdmin(ReadOnlyAdmin):
    list_display = ["email", "client_id", "created_at", "expires_at", "used_at"]
    search_fields = ["email"]
    exclude = ["code_hash"]


@admin.register(OAuthClientScopes)
class OAuthClientScopesAdmin(admin.ModelAdmin):
    list_display = ["application", "scopes"]
