"""Forms of identity's web pages: they only parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class SignInForm(forms.Form):
    """E-mail and password for the sign-in page (checked by ``services.web_sign_in``)."""

    email = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        # LoginView passes the request; the sign-in itself happens in the view, through the service.
        self.request = request
        super().__init__(*args, **kwargs)


class AdminSignInForm(SignInForm):
    """The admin's sign-in form: the e-mail in a field named ``username``, as the admin's
    template expects (checked by ``services.admin_sign_in``)."""

    email = None  # type: ignore[assignment]
    username = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )

    field_order = ["username", "password"]
