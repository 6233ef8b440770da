"""Identity's web pages: sign-in, sign-out and consent (OAuth2 authorization code flow), and the
admin's sign-in page.

Spanish by default; ``?lang=en`` (or Accept-Language, through LocaleMiddleware) switches, and
the choice is kept in Django's language cookie so the rest of the flow stays in that language.
Sign-in goes through ``services.web_sign_in`` (``services.admin_sign_in`` for the admin): the
same lockout and audit log as ``POST /token``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from oauth2_provider.views import AuthorizationView

from backoffice.access.client_ip import client_ip
from backoffice.access.errors import TooManyRequests, Unauthorized
from backoffice.identity import services
from backoffice.identity.forms import AdminSignInForm, SignInForm

View = Callable[..., HttpResponseBase]


def language_from_query(view: View) -> View:
    """Serves ``view`` in the language named by ``?lang=`` (one of LANGUAGES) and remembers it.

    Without a valid ``lang`` the language LocaleMiddleware chose (cookie, Accept-Language,
    else Spanish) stays.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        code = request.GET.get("lang", "")
        if code not in dict(settings.LANGUAGES):
            return view(request, *args, **kwargs)
        translation.activate(code)
        request.LANGUAGE_CODE = code
        response = view(request, *args, **kwargs)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response

    return wrapped


def _meta(request: HttpRequest) -> services.RequestMeta:
    return services.RequestMeta(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))


def _locked_out_message(retry_after: float) -> str:
    minutes = math.ceil(retry_after / 60)
    return ngettext(
        "Too many failed attempts. Try again in %(minutes)d minute.",
        "Too many failed attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class _ServiceSignInView(LoginView):
    """Django's LoginView (safe ``next`` handling, CSRF, no caching) over one of identity's
    sign-in services, so the lockout and the audit log hold on every door.

    A locked account or IP gets the page back with the wait time, as 429 with Retry-After.
    """

    # Not an AuthenticationForm: that one authenticates in clean(); here the service does.
    form_class = SignInForm  # type: ignore[assignment]
    sign_in = staticmethod(services.web_sign_in)
    email_field = "email"

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            user = self.sign_in(
                email=form.cleaned_data[self.email_field],
                password=form.cleaned_data["password"],
                meta=_meta(self.request),
                now=timezone.now(),
            )
        except TooManyRequests as exc:
            form.add_error(None, _locked_out_message(exc.retry_after))
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(math.ceil(exc.retry_after))
            return response
        except Unauthorized as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        auth_login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect(self.get_success_url())


class SignInView(_ServiceSignInView):
    """Identity's own sign-in page (the OAuth2 authorization code flow), over ``web_sign_in``."""

    template_name = "identity/signin.html"


class AdminSignInView(_ServiceSignInView):
    """``/admin/login/`` over ``services.admin_sign_in`` with the admin's own template: the admin
    is one more door to the same accounts, so it gets the same lockout and audit log."""

    form_class = AdminSignInForm  # type: ignore[assignment]
    sign_in = staticmethod(services.admin_sign_in)
    email_field = "username"  # the admin's template names the field so
    template_name = "admin/login.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if admin.site.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        return super().get(request, *args, **kwargs)

    def get_default_redirect_url(self) -> str:
        return reverse("admin:index")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        request = self.request
        request.current_app = admin.site.name
        return super().get_context_data(
            **admin.site.each_context(request),
            title=gettext("Log in"),
            subtitle=None,
            app_path=request.get_full_path(),
            username=request.user.get_username(),
            **kwargs,
        )


class ConsentView(AuthorizationView):
    """DOT's authorization endpoint with identity's consent page (scopes with their descriptions)."""

    template_name = "identity/authorize.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        scopes = kwargs.get("scopes") or []
        descriptions = kwargs.get("scopes_descriptions") or []
        context["scope_items"] = list(zip(scopes, descriptions, strict=True))
        return context
