"""Template helpers of identity's web pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def url_in_language(context: dict[str, Any], code: str) -> str:
    """This page's URL with ``?lang=<code>``, keeping the rest of the query (the OAuth2 request)."""
    request = context["request"]
    query = request.GET.copy()
    query["lang"] = code
    return f"{request.path}?{query.urlencode()}"
