"""Maps domain errors to HTTP answers, in one place, with a message that says what is wrong.

Every error body is ``{"error": code, "detail": message}`` (validation errors add ``fields``).
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response


class DomainError(Exception):
    """A request that the domain refuses; ``code`` is stable, ``message`` is for people."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class Unauthorized(DomainError):
    """The caller's credentials or token are refused (codes: invalid_credentials, invalid_token...)."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_token"


class TooManyRequests(DomainError):
    """The caller must wait ``retry_after`` seconds before trying again."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, math.ceil(retry_after))


class InvalidBearerToken(exceptions.AuthenticationFailed):
    """DRF's 401 for a bearer token that fails verification (WWW-Authenticate is added by DRF)."""

    default_code = "invalid_token"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every error shaped as ``{"error": code, "detail": message}``."""
    # Imported here: rest_framework.views imports the authentication classes, which import us.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DomainError):
        response = Response({"error": exc.code, "detail": exc.message}, status=exc.status_code)
        if isinstance(exc, TooManyRequests):
            response["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthorized) and exc.code == "invalid_token":
            response["WWW-Authenticate"] = 'Bearer realm="enlace", error="invalid_token"'
        return response
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    # Django's own 404 and 403 (e.g. content negotiation refusing ?format=bogus) are shaped
    # like ours too: DRF's handler converts them only for itself.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    drf_response = drf_exception_handler(exc, context)
    if drf_response is None or not isinstance(exc, exceptions.APIException):
        return drf_response
    if isinstance(exc, exceptions.ValidationError):
        drf_response.data = {"error": "invalid", "detail": _first_message(exc.detail), "fields": exc.detail}
    else:
        detail_text = exc.detail if isinstance(exc.detail, str) else _first_message(exc.detail)
        drf_response.data = {"error": _code_of(exc), "detail": str(detail_text)}
    return drf_response


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


# The JSON Schema of every error body above, published in each service's OpenAPI schema as the
# "Error" component (see backoffice.access.openapi), so clients can rely on its shape.
ERROR_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error: a stable code, a message for people, and each refused field for invalid input.",
    "properties": {
        "error": {"type": "string", "description": "Stable code, e.g. invalid, not_found, conflict."},
        "detail": {"type": "string", "description": "What is wrong, in the caller's language."},
        "fields": {
            "type": "object",
            "additionalProperties": True,
            "description": "For invalid input (error=invalid): the messages of each refused field.",
        },
    },
    "required": ["error", "detail"],
}
