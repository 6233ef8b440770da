"""Roles, permissions, pagination and the parameters the billing API's endpoints share."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.request import Request

from backoffice.access.drf import HasAnyRole, HasScope, principal_of
from backoffice.access.errors import Forbidden, NotFound
from backoffice.access.openapi import ERROR_REF, error_responses
from backoffice.billing import selectors

WRITE_ROLES = ("billing", "admin")
CanRead = HasAnyRole("billing", "admin", "agent") | HasScope("billing.read")
CanWrite = HasAnyRole(*WRITE_ROLES)
CanPayLink = HasAnyRole(*WRITE_ROLES) | HasScope("billing.pay_link")


def _own_client_id(request: Request) -> int:
    principal = principal_of(request)
    if principal.client_id is None:
        raise Forbidden(_("Only subscribers have their own billing account."), code="not_a_subscriber")
    return principal.client_id


_MONEY = {"max_digits": 12, "decimal_places": 2}


def _account_of(client_id: int) -> None:
    """The body names a client that must have a billing account: a 400 on ``client_id`` if not
    (the URL was fine, so not a 404)."""
    try:
        selectors.account_get(client_id=client_id)
    except NotFound as exc:
        raise serializers.ValidationError({"client_id": [exc.message]}) from None


# A subscriber whose client has no billing account yet finds nothing of their own.
_NO_ACCOUNT = error_responses(404)
_GATEWAY_DOWN = {
    502: OpenApiResponse(ERROR_REF, description="The payment gateway refused the request; try again later."),
    503: OpenApiResponse(ERROR_REF, description="The payment gateway did not answer; try again."),
}
_LANGUAGE = OpenApiParameter(
    "language",
    str,
    enum=[code for code, _name in settings.LANGUAGES],
    required=False,
    description="The language of the PDF (default: the client's).",
)


def _language(request: Request) -> str | None:
    language = request.query_params.get("language")
    if language is not None and language not in dict(settings.LANGUAGES):
        raise serializers.ValidationError(
            {"language": [_("Use one of: %(all)s.") % {"all": ", ".join(dict(settings.LANGUAGES))}]}
        )
    return language
