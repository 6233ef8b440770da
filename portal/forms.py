"""Input of the portal's pages. Identity enforces the password rules; these forms only check shape."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.identity_client import ValidationFailed


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ForgotPasswordForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class _NewPasswordForm(forms.Form):
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_confirm = forms.CharField(
        label=_("Repeat the new password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if cleaned.get("new_password") and cleaned.get("new_password") != cleaned.get("new_password_confirm"):
            self.add_error("new_password_confirm", _("The two passwords differ."))
        return cleaned


class ResetPasswordForm(_NewPasswordForm):
    pass


class ChangePasswordForm(_NewPasswordForm):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "new_password", "new_password_confirm"]


class ActivationForm(_NewPasswordForm):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    code = forms.CharField(label=_("Activation code"), max_length=64)
    field_order = ["email", "code", "new_password", "new_password_confirm"]


# Identity's field names that a form shows under one of its own fields.
_IDENTITY_FIELDS = {"password": "new_password"}


def form_add_identity_errors(form: forms.Form, failure: ValidationFailed) -> None:
    """Shows identity's refusal on the form: under the field it names, or above the form."""
    for name, messages in failure.errors.items():
        field = _IDENTITY_FIELDS.get(name, name)
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
