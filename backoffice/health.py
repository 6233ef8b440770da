"""Liveness and readiness of a back-office process."""

from __future__ import annotations

import socket

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from backoffice.databases import service_db


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok", "services": settings.ENLACE_SERVICES})


def _check_database(alias: str) -> str | None:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_kafka(bootstrap: str) -> str | None:
    errors = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
                return None
        except OSError as exc:
            errors.append(f"{server}: {exc}")
    return "; ".join(errors) or "no bootstrap servers configured"


def _check_redis() -> str | None:
    try:
        cache = caches["tokens"]
        cache.set("readyz-probe", "1", 5)
        if cache.get("readyz-probe") != "1":
            return "the tokens cache did not return what was stored"
    except Exception as exc:  # any client error means "not ready"; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    return None


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Each served service's database answers, and so do Kafka and Redis."""
    checks: dict[str, str | None] = {}
    for service in settings.ENLACE_SERVICES:
        checks[f"database:{service}"] = _check_database(service_db(service))
    checks["kafka"] = _check_kafka(settings.KAFKA_BOOTSTRAP_SERVERS)
    if "identity" in settings.ENLACE_SERVICES:
        checks["redis" if settings.REDIS_URL else "tokens-cache"] = _check_redis()
    failing = {name: error for name, error in checks.items() if error}
    body = {
        "status": "ready" if not failing else "not-ready",
        "checks": {name: (error or "ok") for name, error in checks.items()},
    }
    return JsonResponse(body, status=200 if not failing else 503)
