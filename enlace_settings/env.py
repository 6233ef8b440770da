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


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None or value == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]
