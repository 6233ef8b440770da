from __future__ import annotations

from django.http import HttpRequest

from portal.accounts import signed_in_user as _signed_in_user


def signed_in_user(request: HttpRequest) -> dict[str, object]:
    """Exposes ``portal_user`` (the session's identity user, or None) to every template."""
    return {"portal_user": _signed_in_user(request)}
