"""Topics and the schema of every message type's ``data`` (JSON Schema).

Each context declares its types in ``enlace_messaging/schemas/<context>.py``; both ends
validate against the same schema, so a producer cannot publish what a consumer will refuse.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from enlace_messaging.errors import InvalidMessage

IDENTITY_EVENTS = "enlace.identity.events.v1"
CLIENTS_EVENTS = "enlace.clients.events.v1"
BILLING_EVENTS = "enlace.billing.events.v1"
NETWORK_COMMANDS = "enlace.network.commands.v1"
NETWORK_RESULTS = "enlace.network.results.v1"
NETWORK_EVENTS = "enlace.network.events.v1"
SUPPORT_EVENTS = "enlace.support.events.v1"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


_VALIDATORS: dict[tuple[str, int], Draft202012Validator] = {}


def register(message_type: str, version: int, schema: dict[str, Any]) -> None:
    """Declares the schema of ``message_type`` at ``version``."""
    Draft202012Validator.check_schema(schema)
    _VALIDATORS[(message_type, version)] = Draft202012Validator(schema)


def known_types() -> list[tuple[str, int]]:
    _load()
    return sorted(_VALIDATORS)


def validate_data(message_type: str, version: int, data: Any) -> None:
    """Raises InvalidMessage naming the first problem when ``data`` breaks the schema."""
    _load()
    validator = _VALIDATORS.get((message_type, version))
    if validator is None:
        raise InvalidMessage(f"unknown message type {message_type!r} version {version}")
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "data"
        raise InvalidMessage(f"{message_type} v{version}: {where}: {error.message}")


_loaded = False


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from enlace_messaging import schemas  # noqa: F401  (registers every type)
