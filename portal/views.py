"""The portal's pages. Each renders the full page, or only its form when htmx asks for it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language, get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import accounts
from portal.clients_client import AcceptanceRefused, ClientsUnavailable, NotASubscriber, NotFound
from portal.forms import (
    ActivationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    ResetPasswordForm,
    SignInForm,
    form_add_identity_errors,
)
from portal.htmx import HtmxHttpRequest, redirect_to
from portal.identity_client import (
    IdentityUnavailable,
    IdentityUser,
    InvalidCredentials,
    Throttled,
    ValidationFailed,
    identity_client,
)
from portal.my_billing import my_billing_account, overdue_services
from portal.my_plan import my_contract_accept, my_contract_pdf, my_contracts_list, my_plans_get
from portal.my_services import my_service_get, my_services_list

_SameSite = Literal["Lax", "Strict", "None"]
View = TypeVar("View", bound=Callable[..., HttpResponse])


def signin_required(view: View) -> View:
    """Sends a browser that is not signed in to sign-in, and back here afterwards."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if accounts.signed_in_user(request) is None:
            url = reverse("portal:sign-in") + "?" + urlencode({"next": request.get_full_path()})
            return redirect_to(request, url)
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def _page(request: HtmxHttpRequest, page: str, partial: str, context: dict[str, Any]) -> HttpResponse:
    """The full page, or only the part htmx swaps in."""
    return render(request, partial if request.htmx else page, context)


def _unavailable_error(form: Any) -> None:
    form.add_error(None, _("The service is unavailable right now. Please try again in a moment."))


def _throttled_error(form: Any, exc: Throttled) -> None:
    form.add_error(
        None,
        ngettext(
            "Too many attempts. Try again in %(seconds)d second.",
            "Too many attempts. Try again in %(seconds)d seconds.",
            exc.retry_after,
        )
        % {"seconds": exc.retry_after},
    )


def _identity_call(form: Any, call: Callable[[], object]) -> bool:
    """Runs ``call`` (a request to identity) for ``form``; True when identity accepted it.

    Otherwise what went wrong is on the form: identity's per-field messages, the wait after
    too many attempts, or that the service is unavailable.
    """
    try:
        call()
    except ValidationFailed as exc:
        form_add_identity_errors(form, exc)
    except Throttled as exc:
        _throttled_error(form, exc)
    except IdentityUnavailable:
        _unavailable_error(form)
    else:
        return True
    return False


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard for a signed-in browser, sign-in otherwise."""
    if accounts.signed_in_user(request) is None:
        return redirect("portal:sign-in")
    return redirect("portal:dashboard")


@require_http_methods(["GET", "POST"])
def sign_in(request: HtmxHttpRequest) -> HttpResponse:
    """Signs in through identity; errors and throttling show in place of the form."""
    next_url = _safe_next(request, reverse("portal:dashboard"))
    if request.method == "GET" and accounts.signed_in_user(request) is not None:
        return redirect(next_url)
    form = SignInForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            user = accounts.account_sign_in(
                request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except InvalidCredentials:
            form.add_error(None, _("The e-mail or password is incorrect."))
        except Throttled as exc:
            _throttled_error(form, exc)
        except IdentityUnavailable:
            _unavailable_error(form)
        else:
            response = redirect_to(request, next_url)
            # The portal speaks the user's language from now on (the switch can still change it).
            if check_for_language(user.language):
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    user.language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    # Django's stubs type this setting as any str; the portal's is "Lax".
                    samesite=cast(_SameSite, settings.LANGUAGE_COOKIE_SAMESITE),
                    secure=request.is_secure(),
                )
            return response
    context = {"form": form, "next": next_url}
    return _page(request, "portal/sign_in.html", "portal/partials/sign_in_form.html", context)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Signs out here and at identity."""
    accounts.account_sign_out(request)
    return redirect_to(request, reverse("portal:sign-in"))


@require_http_methods(["GET", "POST"])
def password_forgot(request: HtmxHttpRequest) -> HttpResponse:
    """Asks identity to e-mail a reset link; the answer never reveals whether the account exists."""
    form = ForgotPasswordForm(request.POST if request.method == "POST" else None)
    sent = False
    if form.is_valid():
        sent = _identity_call(
            form,
            lambda: identity_client().password_reset_request(
                email=form.cleaned_data["email"], client_ip=accounts.client_ip(request)
            ),
        )
    context = {"form": form, "sent": sent}
    return _page(request, "portal/password_forgot.html", "portal/partials/password_forgot_form.html", context)


@require_http_methods(["GET", "POST"])
def password_reset(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """Sets a new password with the token of the e-mailed link."""
    form = ResetPasswordForm(request.POST if request.method == "POST" else None)
    done = False
    if form.is_valid():
        done = _identity_call(
            form,
            lambda: identity_client().password_reset_confirm(
                token=token, new_password=form.cleaned_data["new_password"]
            ),
        )
    context = {"form": form, "done": done, "token": token}
    return _page(request, "portal/password_reset.html", "portal/partials/password_reset_form.html", context)


@require_http_methods(["GET", "POST"])
@signin_required
def password_change(request: HtmxHttpRequest) -> HttpResponse:
    """Changes the signed-in user's password (identity then announces it on every open dashboard)."""
    form = ChangePasswordForm(request.POST if request.method == "POST" else None)
    done = False
    if form.is_valid():
        done = _identity_call(
            form,
            lambda: accounts.with_access_token(
                request,
                lambda token: identity_client().password_change(
                    access_token=token,
                    current_password=form.cleaned_data["current_password"],
                    new_password=form.cleaned_data["new_password"],
                ),
            ),
        )
    context = {"form": form, "done": done}
    return _page(request, "portal/password_change.html", "portal/partials/password_change_form.html", context)


@require_http_methods(["GET", "POST"])
def activation(request: HtmxHttpRequest) -> HttpResponse:
    """Activates an account with the e-mail, the code the ISP gave and a new password."""
    form = ActivationForm(request.POST if request.method == "POST" else None)
    done = False
    if form.is_valid():
        done = _identity_call(
            form,
            lambda: identity_client().account_activate(
                email=form.cleaned_data["email"],
                code=form.cleaned_data["code"],
                password=form.cleaned_data["new_password"],
                client_ip=accounts.client_ip(request),
            ),
        )
    context = {"form": form, "done": done}
    return _page(request, "portal/activation.html", "portal/partials/activation_form.html", context)


@require_http_methods(["GET", "POST"])
def email_verify(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The e-mailed verification link: a button that confirms (a GET changes nothing, as mail
    scanners open links)."""
    outcome = ""
    if request.method == "POST":
        try:
            identity_client().email_verify(token=token)
            outcome = "verified"
        except ValidationFailed:
            outcome = "invalid"
        except (Throttled, IdentityUnavailable):
            outcome = "unavailable"
    context = {"token": token, "outcome": outcome}
    return _page(request, "portal/email_verify.html", "portal/partials/email_verify_body.html", context)


@require_GET
@signin_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in user as identity knows them now, their services' status and billing account
    (on the full page) and the live notification area."""
    user = _current_user(request)
    if request.htmx:
        return render(request, "portal/partials/dashboard_account.html", {"user": user})
    services = my_services_list(request, user)
    account, billing_unavailable = my_billing_account(request)
    context = {
        "user": user,
        "my_services": services,
        "account": account,
        "billing_unavailable": billing_unavailable,
        # Why a service is off, how much is owed and the pay button go together on the page.
        "suspended": overdue_services(services.services),
    }
    return render(request, "portal/dashboard.html", context)


@require_GET
@signin_required
def service_card(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    """One service card, fetched again by a card a live push replaced (pushes carry no plan or
    speed). 204, keeping the pushed card, when the service cannot be read."""
    service = my_service_get(request, subscription_id=subscription_id)
    if service is None:
        return HttpResponse(status=204)
    return render(request, "portal/partials/service_card.html", {"service": service})


def _current_user(request: HttpRequest) -> IdentityUser:
    """The signed-in user as identity knows them now (kept in the session). Raises SessionExpired."""
    user = accounts.with_access_token(request, lambda token: identity_client().me(access_token=token))
    accounts.signed_in_user_refresh(request, user)
    return user


@require_GET
@signin_required
def my_plan(request: HtmxHttpRequest) -> HttpResponse:
    """Mi plan: each active subscription's plan, speed, price with IVA and next billing day."""
    user = _current_user(request)
    return render(request, "portal/my_plan.html", {"user": user, "my_plans": my_plans_get(request, user)})


@require_GET
@signin_required
def my_contract(request: HtmxHttpRequest) -> HttpResponse:
    """Mi contrato: every version of each subscription's contract (both languages), and the
    current one to accept."""
    user = _current_user(request)
    my_plans = my_plans_get(request, user)
    language = "en" if (get_language() or "es").startswith("en") else "es"
    unavailable = my_plans.unavailable
    contracts = []
    if not unavailable:
        try:
            contracts = my_contracts_list(request, my_plans.plans, language=language)
        except ClientsUnavailable:
            unavailable = True
    context = {
        "user": user,
        "contracts": contracts,
        "unavailable": unavailable,
        "is_subscriber": my_plans.account is not None,
    }
    return render(request, "portal/my_contract.html", context)


@require_GET
@signin_required
def contract_pdf(request: HttpRequest, subscription_id: int, version: int, language: str) -> HttpResponse:
    """One contract version as a PDF download; 404 when it is not the subscriber's."""
    if language not in ("es", "en"):
        raise Http404
    try:
        document = my_contract_pdf(
            request, subscription_id=subscription_id, version=version, language=language
        )
    except (NotFound, NotASubscriber) as exc:
        raise Http404 from exc
    except ClientsUnavailable:
        return render(request, "portal/unavailable.html", status=503)
    response = HttpResponse(document.content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


@require_POST
@signin_required
def contract_accept(request: HttpRequest, subscription_id: int, version: int) -> HttpResponse:
    """The subscriber's click-to-accept of the current contract version they were shown."""
    language = request.POST.get("language", "es")
    sha256 = request.POST.get("sha256", "")
    if language not in ("es", "en") or not sha256:
        return HttpResponse(_("The acceptance names no contract document."), status=400)
    try:
        my_contract_accept(
            request, subscription_id=subscription_id, version=version, language=language, sha256=sha256
        )
    except (NotFound, NotASubscriber) as exc:
        raise Http404 from exc
    except AcceptanceRefused as exc:
        messages.error(request, exc.message)
    except ClientsUnavailable:
        messages.error(request, _("The service is unavailable right now. Please try again in a moment."))
    else:
        messages.success(
            request, _("You accepted version %(version)s of your contract.") % {"version": version}
        )
    return redirect("portal:my-contract")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The portal process is up and serving requests."""
    return JsonResponse({"status": "ok"})
