"""Typed readers for settings that come from the environment.

Every reader supports ``NAME_FILE`` (a path whose content is the value), as container
secrets are mounted as files. A value that cannot be parsed is a start-up error, never a
silent default.
"""

from __future__ import annotations

import os
from pathlib import Path


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the process must not start."""


def _raw(name: str) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name)


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    """The value of ``name`` (or of the file ``name_FILE``); ``required`` forbids a default."""
    value = _raw(name)
    if value is None or value == "":
        if required or default is None:
            raise SettingsError(f"the environment variable {name} must be set")
        return default
    return value


def env_optional(name: str) -> str | None:
    """The value of ``name`` or ``None`` when it is unset or empty."""
    value = _raw(name)
    return value or None


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SettingsError(f"{name}={value!r} is not a whole number") from exc


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """The value of ``name``, which must be one of ``choices`` (exactly, as written)."""
    value = env_str(name, default)
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not allowed: use one of {', '.join(choices)}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None or value == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def sqlite_options(*, timeout_seconds: int) -> dict[str, object]:
    """Django ``OPTIONS`` for a SQLite file that several processes write at once (embedded mode).

    The API server, the outbox relay and the consumers share each service's file. WAL lets
    readers run beside the one writer; ``BEGIN IMMEDIATE`` takes the write lock when a
    transaction starts, so a writer waits for it (up to ``timeout_seconds``) instead of failing
    at once with "database is locked" when a deferred transaction that read first tries to
    write after another process committed (SQLite cannot wait in that case: its snapshot is
    stale). It also makes ``select_for_update`` (a no-op on SQLite) safe: a transaction that
    reads a row then writes it holds the only write lock from its first read.
    """
    return {
        "transaction_mode": "IMMEDIATE",
        # sqlite3.connect's busy timeout, set before init_command runs (the WAL switch may wait).
        "timeout": timeout_seconds,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            # In WAL mode NORMAL loses no committed data on a process crash, only on power loss.
            "PRAGMA synchronous=NORMAL;"
            f"PRAGMA busy_timeout={timeout_seconds * 1000}"
        ),
    }
