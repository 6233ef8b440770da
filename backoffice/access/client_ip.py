"""The client's IP address, trusting ``X-Forwarded-For`` only from known proxies."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """``REMOTE_ADDR``, or the first ``X-Forwarded-For`` entry when REMOTE_ADDR is a trusted proxy.

    The portal calls identity from its server and forwards the user's address; anyone else
    could forge the header, so it is ignored unless the direct peer is in ENLACE_TRUSTED_PROXIES.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = getattr(settings, "ENLACE_TRUSTED_PROXIES", ["127.0.0.1"])
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote in trusted and forwarded:
        first = forwarded.split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(first))
        except ValueError:
            return remote
    return remote
