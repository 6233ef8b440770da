"""A database still locked when its busy timeout runs out is a 503 to retry, never a 500.

In embedded mode several processes write each SQLite file; writers queue for the lock
(``enlace_settings.env.sqlite_options``), so this only happens when one holds it for longer than
the timeout. The client may simply try again: nothing of the request was committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

# SQLite's wording for SQLITE_BUSY and SQLITE_LOCKED; PostgreSQL waits for locks instead.
_LOCKED_MESSAGES = ("database is locked", "database table is locked")


def is_database_locked(exc: BaseException) -> bool:
    """True when ``exc`` is SQLite refusing a statement because another writer holds the lock."""
    return isinstance(exc, OperationalError) and any(message in str(exc) for message in _LOCKED_MESSAGES)


class DatabaseBusyMiddleware:
    """Answers 503 with ``Retry-After`` and a JSON error when a view finds the database locked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_locked(exception):
            return None
        logger.warning("%s %s: the database stayed locked past its timeout", request.method, request.path)
        response = JsonResponse(
            {"error": "database_busy", "detail": _("The service is busy. Try again in a few seconds.")},
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
