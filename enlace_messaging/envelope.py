"""The message envelope of design §2, with each type's data checked against its schema.

Free of Django and of the Kafka client, so the netagent and the portal use it too.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from enlace_messaging import catalog
from enlace_messaging.errors import InvalidMessage

_REQUIRED = ("id", "type", "version", "occurred_at", "source", "correlation_id", "data")


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Envelope:
    type: str
    data: dict[str, Any]
    source: str
    version: int = 1
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=_now_rfc3339)
    correlation_id: str = ""
    causation_id: str | None = None

    @classmethod
    def new(
        cls,
        *,
        type: str,
        data: dict[str, Any],
        source: str,
        version: int = 1,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """A new message; raises InvalidMessage when ``data`` breaks the type's schema."""
        message_id = str(uuid.uuid4())
        envelope = cls(
            type=type,
            data=data,
            source=source,
            version=version,
            id=message_id,
            occurred_at=(
                occurred_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                if occurred_at
                else _now_rfc3339()
            ),
            correlation_id=correlation_id or message_id,
            causation_id=causation_id,
        )
        catalog.validate_data(envelope.type, envelope.version, envelope.data)
        return envelope

    def caused(self, *, type: str, data: dict[str, Any], source: str, version: int = 1) -> Envelope:
        """A message caused by this one: same correlation id, causation id = this id."""
        return Envelope.new(
            type=type,
            data=data,
            source=source,
            version=version,
            correlation_id=self.correlation_id,
            causation_id=self.id,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Parses and validates a message; raises InvalidMessage saying what is wrong."""
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidMessage(f"not JSON: {exc}") from exc
        return cls.from_dict(body)

    @classmethod
    def from_dict(cls, body: Any) -> Envelope:
        if not isinstance(body, dict):
            raise InvalidMessage("the envelope must be a JSON object")
        missing = [name for name in _REQUIRED if name not in body]
        if missing:
            raise InvalidMessage(f"the envelope lacks {', '.join(missing)}")
        try:
            uuid.UUID(str(body["id"]))
        except ValueError:
            raise InvalidMessage(f"id {body['id']!r} is not a UUID") from None
        if not isinstance(body["type"], str) or not body["type"]:
            raise InvalidMessage("type must be a non-empty string")
        if not isinstance(body["version"], int) or isinstance(body["version"], bool):
            raise InvalidMessage("version must be an integer")
        if not isinstance(body["data"], dict):
            raise InvalidMessage("data must be a JSON object")
        try:
            datetime.fromisoformat(str(body["occurred_at"]).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidMessage(f"occurred_at {body['occurred_at']!r} is not an RFC 3339 time") from None
        envelope = cls(
            id=str(body["id"]),
            type=body["type"],
            version=body["version"],
            occurred_at=str(body["occurred_at"]),
            source=str(body["source"]),
            correlation_id=str(body["correlation_id"]),
            causation_id=None if body.get("causation_id") is None else str(body["causation_id"]),
            data=body["data"],
        )
        catalog.validate_data(envelope.type, envelope.version, envelope.data)
        return envelope
