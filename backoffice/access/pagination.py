"""Page-number pagination whose ``page`` parameter means what the OpenAPI schemas say."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import pagination, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

_WHOLE_NUMBER = re.compile(r"^[1-9][0-9]{0,8}$")


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's, except that a ``page`` that is not a whole number from 1 is a 400 naming the field.

    DRF reads an empty ``page`` (or ``last``) as a page of its own choosing; the schemas promise
    an integer, so a client that sends anything else is told so instead of getting page 1.
    """

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> Any:
        page = request.query_params.get(self.page_query_param)
        if page is not None and not _WHOLE_NUMBER.match(page):
            raise ValidationError({self.page_query_param: [_("Give a whole page number from 1.")]})
        return super().paginate_queryset(queryset, request, view=view)


def paginated_response(
    request: Request, view: APIView, items: Any, serializer: type[serializers.Serializer], **context: Any
) -> Response:
    """One page of ``items`` as ``{count, next, previous, results}``, each serialized by
    ``serializer`` (with ``context``): the shape every list endpoint's schema documents."""
    paginator = PageNumberPagination()
    page: Any = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True, context=context).data)
