"""Portal middleware: security headers Django 5.2 lacks, and the end of identity sessions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.accounts import SessionExpired
from portal.htmx import redirect_to
from portal.identity_client import IdentityUnavailable

logger = logging.getLogger(__name__)


class ContentSecurityPolicyMiddleware:
    """Adds the Content-Security-Policy of ``settings.ENLACE_PORTAL_CSP`` to every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.ENLACE_PORTAL_CSP)
        return response


class SessionExpiredMiddleware:
    """Turns the end of an identity session into a sign-in page with a message, and an
    unreachable identity into a 503 page, so views need not handle either."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, SessionExpired):
            logger.info("portal session ended: %s", exception)
            request.session.flush()
            messages.warning(request, _("Your session has ended. Please sign in again."))
            url = reverse("portal:sign-in") + "?" + urlencode({"next": request.get_full_path()})
            return redirect_to(request, url)
        if isinstance(exception, IdentityUnavailable):
            logger.warning("identity unavailable: %s", exception)
            return render(request, "portal/unavailable.html", status=503)
        return None
