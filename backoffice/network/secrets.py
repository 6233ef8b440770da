"""The routers' API passwords, sealed at rest.

The network service keeps a router's API password only so staff can record it with the
router (the netagent logs in with the password of its own configuration); a copy of the
database, a backup or a read-only SQL account must not hand it out. It is stored as a
Fernet token (AES-128-CBC + HMAC-SHA256) under a key derived from the setting
``ENLACE_ROUTER_SECRET_KEY`` (``_FILE`` supported; required in production, derived from
``SECRET_KEY`` in development).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

# Every Fernet token starts with its version byte 0x80, base64-encoded.
_TOKEN_PREFIX = "gAAAAA"


def _fernet() -> Fernet:
    # Any string makes a key: SHA-256 stretches it to Fernet's 32 bytes.
    secret = str(settings.ENLACE_ROUTER_SECRET_KEY).encode("utf-8")
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))


def router_password_seal(password: str) -> str:
    """The value to store for ``password`` (empty stays empty: no password)."""
    if not password:
        return ""
    return _fernet().encrypt(password.encode("utf-8")).decode("ascii")


def router_password_open(stored: str) -> str:
    """The password a stored value seals; raises ValueError when the key cannot open it."""
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise ValueError("the router password cannot be opened with ENLACE_ROUTER_SECRET_KEY") from exc


def is_sealed(stored: str) -> bool:
    """Whether ``stored`` looks like a sealed value (for migrating clear-text rows)."""
    return stored.startswith(_TOKEN_PREFIX)
