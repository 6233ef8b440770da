"""Liveness and readiness of a back-office process."""

from __future__ import annotations

import logging
import socket

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from backoffice.databases import service_db

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok", "services": settings.ENLACE_SERVICES})


def _database_answers(alias: str) -> bool:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any driver error means "not ready"; the details go to the log only
        logger.warning("readyz: the %s database does not answer", alias, exc_info=True)
        return False
    return True


def _kafka_answers(bootstrap: str) -> bool:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
                return True
        except (OSError, ValueError):
            continue
    logger.warning("readyz: no Kafka bootstrap server accepts connections (%s)", bootstrap)
    return False


def _tokens_cache_answers() -> bool:
    try:
        cache = caches["tokens"]
        cache.set("readyz-probe", "1", 5)
        if cache.get("readyz-probe") == "1":
            return True
        logger.warning("readyz: the tokens cache did not return what was stored")
    except Exception:  # any client error means "not ready"; the details go to the log only
        logger.warning("readyz: the tokens cache does not answer", exc_info=True)
    return False


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Each served service's database answers, and so do Kafka and Redis.

    The answer names what is down (``database:<service>``, ``kafka``, ``redis``) and nothing
    more: it is unauthenticated, so driver errors, host names and ports stay in the log.
    """
    checks: dict[str, bool] = {}
    for service in settings.ENLACE_SERVICES:
        checks[f"database:{service}"] = _database_answers(service_db(service))
    checks["kafka"] = _kafka_answers(settings.KAFKA_BOOTSTRAP_SERVERS)
    if "identity" in settings.ENLACE_SERVICES:
        checks["redis" if settings.REDIS_URL else "tokens-cache"] = _tokens_cache_answers()
    down = [name for name, answers in checks.items() if not answers]
    body = {
        "status": "ready" if not down else "not-ready",
        "checks": {name: ("ok" if answers else "down") for name, answers in checks.items()},
        "down": down,
    }
    return JsonResponse(body, status=200 if not down else 503)
