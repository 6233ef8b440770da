"""What every service's OpenAPI schema says beyond its views' own annotations.

drf-spectacular builds each service's schema (``/api/<service>/v1/schema/``); this module makes
it exact for the whole back office in one place:

- ``BearerTokenScheme`` publishes identity's bearer tokens as the ``bearerAuth`` security scheme;
- ``AutoSchema`` names nested serializers after their view (``UserListApi.InputSerializer`` is
  ``UserListInput``), so two views' ``InputSerializer`` never share one component;
- ``paginated(...)`` is the page envelope ``PageNumberPagination`` really answers with;
- ``add_error_responses`` (a postprocessing hook) documents the errors every operation can answer
  from its shape alone (400 for input, 401/403 behind a token, 404 for a path id) with the
  ``Error`` body of :mod:`backoffice.access.errors`; views add the domain ones (409, 429) with
  ``error_responses(...)``.

Schemathesis checks the published schemas against the running API (tests/backoffice/test_api_contracts.py).
"""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.drainage import has_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from backoffice.access import fields
from backoffice.access.errors import ERROR_BODY_SCHEMA

ERROR_REF = {"$ref": "#/components/schemas/Error"}

_ERROR_DESCRIPTIONS = {
    400: "The request is not valid: `detail` says why and, for invalid input, `fields` names each field.",
    401: "No token, or a token that is invalid, expired or revoked.",
    403: "The token's role or scope does not allow this.",
    404: "No such resource.",
    409: "The request conflicts with the resource's current state.",
    429: "Too many attempts: wait the seconds in `Retry-After` before trying again.",
}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status == 429:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "required": True},
        }
    return response


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses=...)`` entries for the domain errors a view answers (409, 429...)."""
    return {
        status: OpenApiResponse(response=ERROR_REF, description=_ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Identity's access tokens (RS256 JWTs) in ``Authorization: Bearer``."""

    target_class = "backoffice.access.drf.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def component_name(serializer_class: type) -> str:
    """``UserListApi.InputSerializer`` → ``UserListInput``; a top-level serializer keeps its name."""
    parts = [part.removesuffix("Serializer") for part in serializer_class.__qualname__.split(".")]
    if len(parts) > 1:
        parts[:-1] = [part.removesuffix("Api") for part in parts[:-1]]
    return "".join(parts)


# A text field refuses NUL characters (DRF's ProhibitNullCharactersValidator) and, unless it
# allows blanks, text that is empty once its surrounding whitespace is trimmed.
_NO_NUL = r"^[^\x00]*$"
_NOT_BLANK_NO_NUL = r"^[^\x00]*[^\s\x00][^\x00]*$"


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, stating the request constraints DRF's text fields enforce.

    Components are named after the view that nests them, so two views' ``InputSerializer``
    never share one component.
    """

    def get_serializer_name(self, serializer: serializers.BaseSerializer, direction: str) -> str:
        return component_name(type(serializer))

    def _get_serializer_field_meta(self, field: Any, direction: str) -> dict[str, Any]:
        meta: dict[str, Any] = super()._get_serializer_field_meta(field, direction)
        # A field whose schema is given whole (extend_schema_field) states its own length.
        if (
            direction == "request"
            and _is_text(field)
            and not field.allow_blank
            and not has_override(field, "field")
        ):
            meta["minLength"] = 1
        return meta

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # Only plain text fields: e-mail, slug, regex and address fields carry their own format.
        if direction == "request" and type(field) in _PLAIN_TEXT and isinstance(schema, dict):
            blank_refused = not field.allow_blank and field.trim_whitespace
            schema.setdefault("pattern", _NOT_BLANK_NO_NUL if blank_refused else _NO_NUL)
        return schema


_PLAIN_TEXT = (serializers.CharField, fields.CharField)


def _is_text(field: Any) -> bool:
    return isinstance(field, serializers.CharField) and not field.read_only


@functools.cache
def paginated(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The page ``PageNumberPagination`` answers with, holding ``serializer_class`` items."""
    name = f"Paginated{component_name(serializer_class)}List"
    page = type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(min_value=0, help_text="Items on every page."),
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last."),
            "previous": serializers.URLField(
                allow_null=True, help_text="The previous page, or null on the first."
            ),
            "results": serializer_class(many=True),
            "__module__": serializer_class.__module__,
            "__qualname__": name,
        },
    )
    return page


# The pagination's query parameter (backoffice/access/pagination.py): a whole number from 1, else
# a 400 naming it; a page past the last one is a 404.
PAGE_PARAMETER = OpenApiParameter(
    "page",
    {"type": "integer", "minimum": 1, "maximum": 999_999_999},
    description="Page number, from 1.",
    required=False,
)


def _is_page(parameter: dict[str, Any]) -> bool:
    return parameter.get("in") == "query" and parameter.get("name") == "page"


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool, **kwargs: Any
) -> dict[str, Any]:
    """Postprocessing hook: the errors each operation can answer, judged from its shape.

    Input (a body or query parameters) can be refused with 400; an operation behind a token
    answers 401 without a valid one and 403 when its role or scope falls short; a path id that
    names nothing, or a page past the last, is a 404. Statuses a view documents itself are left as they are.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_BODY_SCHEMA
    for item in result.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            wanted: list[int] = []
            queries = [p for p in parameters if p.get("in") == "query"]
            if "requestBody" in operation or queries:
                wanted.append(400)
            requirements = operation.get("security", [])
            if any(requirement for requirement in requirements):
                wanted.append(401)
                wanted.append(403)
            if any(p.get("in") == "path" or _is_page(p) for p in parameters):
                wanted.append(404)
            for status in wanted:
                responses.setdefault(str(status), _error_response(status))
            operation["responses"] = dict(sorted(responses.items()))
    return result
