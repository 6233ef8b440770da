"""Signed conversation metadata: who the subscriber is, as the portal vouches for it.

The portal sends every message to Rasa with ``metadata = sign(claims, key)``; the actions call
``verify(metadata, key)`` and act only for the client the claims name, never for an id typed in
the chat. HMAC-SHA256 over the canonical JSON of the claims, with a key the portal and the
action server share (``ENLACE_CHATBOT_METADATA_KEY``), and an expiry. No Django here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

FIELD = "enlace"
SIGNATURE = "enlace_signature"
DEFAULT_TTL = 300


class MetadataError(ValueError):
    """The metadata is missing, forged or expired: the action must not act on it."""


def _mac(claims: dict[str, Any], key: str) -> str:
    canonical = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key.encode(), canonical, hashlib.sha256).hexdigest()


def sign(
    claims: dict[str, Any], key: str, *, ttl: int = DEFAULT_TTL, now: float | None = None
) -> dict[str, Any]:
    """Metadata for Rasa carrying ``claims`` (e.g. client_id, user_id, language, conversation)."""
    if not key:
        raise MetadataError("no signing key configured")
    body = {**claims, "exp": int((now if now is not None else time.time()) + ttl)}
    return {FIELD: body, SIGNATURE: _mac(body, key)}


def verify(metadata: dict[str, Any] | None, key: str, *, now: float | None = None) -> dict[str, Any]:
    """The claims of signed ``metadata``; raises MetadataError if absent, altered or expired."""
    if not key:
        raise MetadataError("no signing key configured")
    if (
        not metadata
        or not isinstance(metadata.get(FIELD), dict)
        or not isinstance(metadata.get(SIGNATURE), str)
    ):
        raise MetadataError("the message carries no signed metadata")
    claims: dict[str, Any] = metadata[FIELD]
    if not hmac.compare_digest(_mac(claims, key), metadata[SIGNATURE]):
        raise MetadataError("the metadata's signature does not match")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < (now if now is not None else time.time()):
        raise MetadataError("the metadata has expired")
    return claims
