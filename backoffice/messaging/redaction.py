"""Keeping secrets out of dead-letter records.

A DLQ keeps a refused record for people to read and replay, often for weeks and with wider
access than the commands topic; a ``network.service.desired`` carries the subscriber's PPPoE
password in clear. Both dead-letter paths (the back office's consumers and the netagent) pass
the record through :func:`dead_letter_redact` before publishing it.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Keys whose values never reach a DLQ (at any depth of the record's JSON).
SECRET_KEYS = frozenset({"password", "pppoe_password"})
REDACTED = "[redacted]"

# For a record that is not valid JSON (it may still hold a password in clear): a quoted
# secret key followed by a quoted string value.
_SECRET_PAIR = re.compile(rb'("(?:pppoe_)?password"\s*:\s*)"(?:[^"\\]|\\.)*"')


def dead_letter_redact(value: bytes, reason: str) -> tuple[bytes, str]:
    """``value`` and ``reason`` with every secret value replaced by ``[redacted]``.

    A JSON record is rewritten only when it holds a secret (otherwise it stays byte for byte
    as received); the reason loses any secret it quotes (a schema error may quote the value).
    """
    secrets: list[str] = []
    try:
        document = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        redacted = _SECRET_PAIR.sub(rb'\1"' + REDACTED.encode() + rb'"', value)
    else:
        clean = _redact(document, secrets)
        redacted = json.dumps(clean, separators=(",", ":")).encode("utf-8") if secrets else value
    for secret in secrets:
        reason = reason.replace(secret, REDACTED)
    return redacted, reason


def _redact(node: Any, secrets: list[str]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, item in node.items():
            if key in SECRET_KEYS and isinstance(item, str) and item:
                secrets.append(item)
                out[key] = REDACTED
            else:
                out[key] = _redact(item, secrets)
        return out
    if isinstance(node, list):
        return [_redact(item, secrets) for item in node]
    return node
