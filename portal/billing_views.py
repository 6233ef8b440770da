"""The subscriber's billing pages: balance and invoices, an invoice and its PDF, payments, paying
at a gateway, the result page that waits for the gateway's webhook, and the demo gateway's page.

Billing decides what a subscriber may see (their own token goes with every call), so another
client's invoice is a 404 here too. The result page never trusts the browser's return from the
gateway: it shows what billing recorded from the webhook and then what arrives over the socket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import accounts
from portal.billing_client import (
    BillingNotFound,
    BillingRefused,
    BillingUnavailable,
    Checkout,
    NotASubscriber,
    billing_client,
)
from portal.htmx import HtmxHttpRequest, redirect_to
from portal.my_billing import my_billing_account, overdue_services
from portal.my_services import my_services_list
from portal.network_client import SubscriberService
from portal.views import signin_required

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The demo gateway's checkout ids are "demo_<our reference>" (billing's demo gateway).
_DEMO_PREFIX = "demo_"
_SESSION_CHECKOUT = "billing_checkout_reference"
# Per checkout reference: the services that were suspended for non-payment when it started, so
# its result page follows them back even if the router was faster than the browser.
_SESSION_SUSPENDED = "billing_checkout_suspended"


def _billing(request: HtmxHttpRequest, call: Callable[[str], T]) -> T:
    """``call`` with the subscriber's access token (refreshed when billing refuses it)."""
    return accounts.with_access_token(request, call)


def _absolute(request: HtmxHttpRequest, path: str) -> str:
    """``path`` on the portal's public address (what a gateway can send the browser back to)."""
    if settings.ENLACE_PORTAL_URL:
        return settings.ENLACE_PORTAL_URL.rstrip("/") + path
    return request.build_absolute_uri(path)


def _page_number(request: HtmxHttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        raise Http404("no such page") from None


@require_GET
@signin_required
def billing_home(request: HtmxHttpRequest) -> HttpResponse:
    """Balance, the pay button and the invoices (paginated; htmx swaps only the list)."""
    page = _page_number(request)
    account, unavailable = my_billing_account(request)
    invoices = None
    if account is not None:
        try:
            invoices = _billing(
                request, lambda token: billing_client().my_invoices(access_token=token, page=page)
            )
        except BillingNotFound:
            raise Http404("no such page of invoices") from None
        except (BillingUnavailable, BillingRefused) as exc:
            logger.warning("billing unavailable for the invoices: %s", exc)
            unavailable = True
    if request.GET.get("cancelled"):
        messages.info(request, _("The payment was cancelled; nothing was charged."))
    context = {"account": account, "invoices": invoices, "unavailable": unavailable}
    template = "portal/billing/_invoice_list.html" if request.htmx else "portal/billing/home.html"
    return render(request, template, context)


@require_GET
@signin_required
def invoice_detail(request: HtmxHttpRequest, number: str) -> HttpResponse:
    """One of the subscriber's invoices with its lines; 404 when it is not theirs."""
    try:
        invoice = _billing(
            request, lambda token: billing_client().my_invoice(access_token=token, number=number)
        )
    except (BillingNotFound, NotASubscriber):
        raise Http404("no such invoice") from None
    except (BillingUnavailable, BillingRefused) as exc:
        logger.warning("billing unavailable for invoice %s: %s", number, exc)
        return render(request, "portal/billing/unavailable.html", status=503)
    account, _unavailable = my_billing_account(request)
    return render(request, "portal/billing/invoice.html", {"invoice": invoice, "account": account})


@require_GET
@signin_required
def invoice_pdf(request: HtmxHttpRequest, number: str) -> HttpResponse:
    """The invoice's PDF in the page's language, as a download; 404 when it is not theirs."""
    language = (get_language() or "es")[:2]
    try:
        pdf = _billing(
            request,
            lambda token: billing_client().my_invoice_pdf(
                access_token=token, number=number, language=language
            ),
        )
    except (BillingNotFound, NotASubscriber):
        raise Http404("no such invoice") from None
    except (BillingUnavailable, BillingRefused) as exc:
        logger.warning("billing unavailable for the PDF of %s: %s", number, exc)
        return render(request, "portal/billing/unavailable.html", status=503)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="factura-{number}.pdf"'
    return response


@require_GET
@signin_required
def payment_history(request: HtmxHttpRequest) -> HttpResponse:
    """The subscriber's payments, newest first (paginated)."""
    page = _page_number(request)
    payments, unavailable = None, False
    try:
        payments = _billing(
            request, lambda token: billing_client().my_payments(access_token=token, page=page)
        )
    except BillingNotFound:
        raise Http404("no such page of payments") from None
    except NotASubscriber:
        pass
    except (BillingUnavailable, BillingRefused) as exc:
        logger.warning("billing unavailable for the payments: %s", exc)
        unavailable = True
    return render(request, "portal/billing/payments.html", {"payments": payments, "unavailable": unavailable})


@require_POST
@signin_required
def pay(request: HtmxHttpRequest) -> HttpResponse:
    """Asks billing for a checkout at the chosen gateway (one invoice, or the whole balance) and
    sends the browser there; the gateway sends it back to ``checkout_return``."""
    gateway = request.POST.get("gateway", "")
    invoice_number = request.POST.get("invoice_number") or None
    back = (
        reverse("portal:billing-invoice", args=[invoice_number])
        if invoice_number
        else reverse("portal:billing")
    )
    try:
        checkout = _billing(
            request,
            lambda token: billing_client().checkout_create(
                access_token=token,
                gateway=gateway,
                invoice_number=invoice_number,
                success_url=_absolute(request, reverse("portal:billing-checkout-return")),
                cancel_url=_absolute(request, reverse("portal:billing") + "?cancelled=1"),
            ),
        )
    except BillingRefused as exc:
        messages.error(request, exc.message or _("The payment could not be started."))
        return redirect_to(request, back)
    except (BillingUnavailable, BillingNotFound, NotASubscriber) as exc:
        logger.warning("checkout at %s could not start: %s", gateway, exc)
        messages.error(
            request, _("The payment could not be started right now. Please try again in a moment.")
        )
        return redirect_to(request, back)
    # Where the gateway's return lands: the portal, not the gateway, says which checkout it was.
    request.session[_SESSION_CHECKOUT] = checkout.reference
    user = accounts.signed_in_user(request)
    suspended = overdue_services(my_services_list(request, user).services) if user else []
    request.session[_SESSION_SUSPENDED] = {checkout.reference: [s.subscription_id for s in suspended]}
    return redirect_to(request, checkout.redirect_url)


@require_GET
@signin_required
def checkout_return(request: HtmxHttpRequest) -> HttpResponse:
    """The gateway's return: on to the result page of the checkout this session started."""
    reference = request.session.get(_SESSION_CHECKOUT)
    if not reference:
        return redirect_to(request, reverse("portal:billing"))
    return redirect_to(request, reverse("portal:billing-checkout", args=[reference]))


def _checkout_get(request: HtmxHttpRequest, reference: str) -> Checkout:
    try:
        return _billing(
            request, lambda token: billing_client().my_checkout(access_token=token, reference=reference)
        )
    except (BillingNotFound, NotASubscriber):
        raise Http404("no such payment") from None


def _restored(service: SubscriberService) -> bool:
    return service.status == "active" and service.applied


@require_GET
@signin_required
def checkout_result(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """What billing recorded of the checkout (from the gateway's webhook) and whether the
    service is back on the router; then the page follows both live over the socket.

    htmx asks again when the socket opens (events may have come before it joined); that answer
    holds only the steps already done, as out-of-band swaps, so a late answer never undoes a
    step a push completed meanwhile."""
    try:
        checkout = _checkout_get(request, str(reference))
    except BillingUnavailable as exc:
        logger.warning("billing unavailable for checkout %s: %s", reference, exc)
        return render(request, "portal/billing/unavailable.html", status=503)
    user = accounts.signed_in_user(request)
    services = my_services_list(request, user).services if user else []
    if request.htmx:
        restored = [s for s in services if _restored(s)]
        return render(
            request, "portal/billing/_result_done.html", {"checkout": checkout, "restored": restored}
        )
    # A service is followed back when it was suspended for non-payment as the payment started,
    # or is now, or its reactivation is not on the router yet.
    followed = set(request.session.get(_SESSION_SUSPENDED, {}).get(str(checkout.reference), []))
    steps = [
        {"subscription_id": s.subscription_id, "state": "restored" if _restored(s) else "waiting"}
        for s in services
        if s.subscription_id in followed
        or s in overdue_services(services)
        or (s.status == "active" and not s.applied)
    ]
    context = {"checkout": checkout, "steps": steps}
    return render(request, "portal/billing/result.html", context)


def _demo_reference(checkout_id: str) -> str:
    if not checkout_id.startswith(_DEMO_PREFIX):
        raise Http404("not a demo checkout")
    return checkout_id[len(_DEMO_PREFIX) :]


@require_http_methods(["GET", "POST"])
@signin_required
def demo_pay(request: HtmxHttpRequest, checkout_id: str) -> HttpResponse:
    """The demo gateway's page (no keys set: no money moves). Its button pays the checkout at
    the demo gateway and delivers the gateway's signed webhook to billing, the path a real
    gateway's payment takes; then the browser goes to the result page like a gateway's return."""
    reference = _demo_reference(checkout_id)
    try:
        checkout = _checkout_get(request, reference)
    except BillingUnavailable as exc:
        logger.warning("billing unavailable for demo checkout %s: %s", reference, exc)
        return render(request, "portal/billing/unavailable.html", status=503)
    if not checkout.demo:
        raise Http404("not a demo checkout")
    if request.method == "POST" and checkout.status == "open":
        try:
            webhook = _billing(
                request, lambda token: billing_client().demo_complete(access_token=token, reference=reference)
            )
            billing_client().demo_webhook_deliver(webhook)
        except (BillingUnavailable, BillingRefused, BillingNotFound) as exc:
            logger.warning("demo payment of %s failed: %s", reference, exc)
            messages.error(request, _("The demo payment did not go through. Please try again."))
            return redirect_to(request, reverse("portal:billing-demo-pay", args=[checkout_id]))
    if request.method == "POST" or checkout.status != "open":
        return redirect_to(request, reverse("portal:billing-checkout", args=[reference]))
    return render(request, "portal/billing/demo_pay.html", {"checkout": checkout, "checkout_id": checkout_id})


__all__: list[Any] = [
    "billing_home",
    "checkout_result",
    "checkout_return",
    "demo_pay",
    "invoice_detail",
    "invoice_pdf",
    "pay",
    "payment_history",
]
