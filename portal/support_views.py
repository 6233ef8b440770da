"""The subscriber's support page: their tickets and a form to open one (the support service
decides what they may see; the portal only forwards their own token)."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from portal import accounts
from portal.htmx import HtmxHttpRequest, redirect_to
from portal.support_client import SupportRefused, SupportUnavailable, TicketSummary, support_client
from portal.views import signin_required

logger = logging.getLogger(__name__)

STATUS_LABELS = {
    "new": gettext_lazy("New"),
    "open": gettext_lazy("Being handled"),
    "pending": gettext_lazy("Waiting for your reply"),
    "resolved": gettext_lazy("Resolved"),
    "closed": gettext_lazy("Closed"),
}


class TicketForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("What is happening?"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


def _tickets(request: HtmxHttpRequest) -> tuple[list[dict[str, Any]], bool]:
    """The subscriber's tickets as plain data for the template, and whether the list is missing."""
    try:
        found: list[TicketSummary] = accounts.with_access_token(
            request, lambda token: support_client().my_tickets(access_token=token)
        )
    except (SupportUnavailable, SupportRefused) as exc:
        logger.warning("support service unavailable for the tickets page: %s", exc)
        return [], True
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "subject": t.subject,
            "status": STATUS_LABELS.get(t.status, t.status),
            "created_at": t.created_at,
        }
        for t in found
    ]
    return rows, False


@require_http_methods(["GET", "POST"])
@signin_required
def support(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the tickets and an empty form; POST: opens a ticket and shows the list again."""
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = accounts.with_access_token(
                request,
                lambda token: support_client().ticket_open(
                    access_token=token, subject=data["subject"], body=data["body"]
                ),
            )
        except SupportRefused as exc:
            for field, errors in exc.fields.items():
                form.add_error(field if field in form.fields else None, errors)
            if not exc.fields:
                form.add_error(None, str(exc) or _("The ticket could not be opened."))
        except SupportUnavailable as exc:
            logger.warning("support service unavailable to open a ticket: %s", exc)
            form.add_error(None, _("The service is unavailable right now. Please try again in a moment."))
        else:
            messages.success(request, _("Ticket #%(id)s is open. We will reply soon.") % {"id": ticket.id})
            return redirect_to(request, reverse("portal:support"))
    tickets, unavailable = _tickets(request)
    context = {"form": form, "tickets": tickets, "tickets_unavailable": unavailable}
    return render(request, "portal/support.html", context)
