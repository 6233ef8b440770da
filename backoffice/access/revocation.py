"""Where identity records revoked access tokens, readable from any process (no Django here).

Identity writes ``revoked-jti:<jti>`` into its "tokens" cache (Django's Redis cache, whose raw
key is ``<KEY_PREFIX>:<VERSION>:<key>``) with a TTL equal to the token's remaining lifetime, so
the set of revocations never outgrows the tokens that are still alive. A service in another
process reads the same Redis key with :class:`RedisRevocationChecker`.
"""

from __future__ import annotations

import redis


def revoked_jti_key(jti: str) -> str:
    """The cache key (before Django's prefix) that marks ``jti`` as revoked."""
    return f"revoked-jti:{jti}"


class RevocationUnavailable(Exception):
    """Redis did not answer; the caller must refuse the token rather than guess."""


class RedisRevocationChecker:
    """Reads identity's revocations straight from Redis (the cache's prefix and version)."""

    def __init__(self, redis_url: str, *, key_prefix: str = "enlace-identity", version: int = 1) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_timeout=2.0)
        self._prefix = f"{key_prefix}:{version}:"

    def is_revoked(self, jti: str) -> bool:
        try:
            return bool(self._client.exists(self._prefix + revoked_jti_key(jti)))
        except redis.RedisError as exc:
            raise RevocationUnavailable(f"cannot reach Redis to check revocation: {exc}") from exc
