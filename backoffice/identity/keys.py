"""Identity's RS256 signing keys: PEM files in ``ENLACE_JWT_KEYS_DIR``, newest signs.

Each file is ``<UTC creation time>_<kid>.pem``. A key stops signing when a newer one appears
and stays in the JWKS until every token it signed has expired (``retired_key_grace``); the
``rotate_jwt_key`` command adds a key and deletes keys past that point. Outside production a
missing directory is created with a first key; in production it is a start-up error.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
_lock = threading.Lock()
_parsed: dict[Path, SigningKey] = {}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    created_at: datetime
    private_key: rsa.RSAPrivateKey
    path: Path

    @property
    def private_pem(self) -> bytes:
        return self.path.read_bytes()

    def public_jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64uint(numbers.n),
            "e": _b64uint(numbers.e),
        }


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638 JWK thumbprint, shortened: a kid that names the key, not the file."""
    numbers = public_key.public_numbers()
    canonical = f'{{"e":"{_b64uint(numbers.e)}","kty":"RSA","n":"{_b64uint(numbers.n)}"}}'
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")[:16]


def keys_dir() -> Path:
    return Path(settings.ENLACE_JWT_KEYS_DIR)


def retired_key_grace() -> timedelta:
    """How long a retired key stays published: the longest access token lifetime, plus leeway."""
    oauth_seconds = int(str(settings.OAUTH2_PROVIDER.get("ACCESS_TOKEN_EXPIRE_SECONDS", 0)))
    return timedelta(seconds=max(settings.ENLACE_ACCESS_TOKEN_SECONDS, oauth_seconds) + 60)


def _load(path: Path) -> SigningKey:
    cached = _parsed.get(path)
    if cached is not None:
        return cached
    stamp, _, kid = path.stem.partition("_")
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured(f"{path} is not an RSA private key")
    key = SigningKey(
        kid=kid,
        created_at=datetime.strptime(stamp, _TIME_FORMAT).replace(tzinfo=UTC),
        private_key=private_key,
        path=path,
    )
    _parsed[path] = key
    return key


def _all_keys() -> list[SigningKey]:
    """Every key on disk, oldest first (re-listed each call, so a rotation by another process shows)."""
    directory = keys_dir()
    if not directory.is_dir():
        return []
    return sorted((_load(p) for p in directory.glob("*_*.pem")), key=lambda k: k.created_at)


def ensure_keys() -> None:
    """Creates a first key when there is none; raises ImproperlyConfigured in production."""
    if _all_keys():
        return
    if settings.PRODUCTION:
        raise ImproperlyConfigured(
            f"ENLACE_JWT_KEYS_DIR={keys_dir()} holds no signing key; "
            "run `python -m backoffice rotate_jwt_key`"
        )
    with _lock:
        if not _all_keys():
            create_key(now=datetime.now(UTC))


def create_key(*, now: datetime) -> SigningKey:
    """Writes a new 2048-bit RSA key (mode 0600); it signs from now on."""
    directory = keys_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = _thumbprint(private_key.public_key())
    path = directory / f"{now.astimezone(UTC).strftime(_TIME_FORMAT)}_{kid}.pem"
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return _load(path)


def signing_key() -> SigningKey:
    """The newest key, which signs every new token."""
    ensure_keys()
    return _all_keys()[-1]


def published_keys(*, now: datetime) -> list[SigningKey]:
    """The signing key and every retired key whose tokens may still be alive."""
    ensure_keys()
    keys = _all_keys()
    grace = retired_key_grace()
    published = [keys[-1]]
    for key, successor in itertools.pairwise(keys):
        if successor.created_at + grace > now:
            published.append(key)
    return published


def prune_keys(*, now: datetime) -> list[SigningKey]:
    """Deletes keys that are no longer published; returns them."""
    keep = {key.path for key in published_keys(now=now)}
    removed = [key for key in _all_keys() if key.path not in keep]
    for key in removed:
        key.path.unlink(missing_ok=True)
        _parsed.pop(key.path, None)
    return removed


def public_jwks() -> dict[str, Any]:
    """The JWKS document: ``{"keys": [...]}`` of the published public keys."""
    return {"keys": [key.public_jwk() for key in published_keys(now=datetime.now(UTC))]}
