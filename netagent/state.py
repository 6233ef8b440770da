"""The netagent's local memory (SQLite): what it applied, per subscription, and which commands it finished.

- ``service``: per subscription the last applied revision and the desired state itself, so a
  stale revision is ignored and a reconcile knows what each router should hold;
- ``processed_command``: ids of commands fully handled (result published), so a redelivered
  command is acknowledged without touching the router again.

One connection shared by the worker threads behind a lock: writes are tiny and rare compared
with a router round trip, and SQLite serialises writers anyway.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from netagent.apply import DesiredService

_SCHEMA = """
CREATE TABLE IF NOT EXISTS service (
    subscription_id INTEGER PRIMARY KEY,
    router TEXT NOT NULL,
    revision INTEGER NOT NULL,
    status TEXT NOT NULL,
    desired TEXT NOT NULL,
    command_id TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS service_router ON service (router);
CREATE TABLE IF NOT EXISTS processed_command (
    command_id TEXT PRIMARY KEY,
    processed_at TEXT NOT NULL
);
"""

_UPSERT = """
INSERT INTO service (subscription_id, router, revision, status, desired, command_id, applied_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (subscription_id) DO UPDATE SET
    router = excluded.router, revision = excluded.revision, status = excluded.status,
    desired = excluded.desired, command_id = excluded.command_id, applied_at = excluded.applied_at
WHERE excluded.revision >= service.revision
"""


@dataclass(frozen=True)
class AppliedService:
    """A subscription's state as last applied on its router."""

    desired: DesiredService
    command_id: str
    applied_at: str

    @property
    def revision(self) -> int:
        return self.desired.revision


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StateStore:
    """The SQLite state file; safe to share between threads."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a command acknowledged to Kafka must survive a power cut on the agent's box.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def service_get(self, subscription_id: int) -> AppliedService | None:
        """The state last applied for the subscription, or None if it was never applied."""
        with self._lock:
            row = self._db.execute(
                "SELECT desired, command_id, applied_at FROM service WHERE subscription_id = ?",
                (subscription_id,),
            ).fetchone()
        if row is None:
            return None
        return AppliedService(DesiredService.from_data(json.loads(row[0])), row[1], row[2])

    def service_list(self, router: str) -> list[DesiredService]:
        """Every subscription last applied on ``router`` (terminated ones included)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT desired FROM service WHERE router = ? ORDER BY subscription_id", (router,)
            ).fetchall()
        return [DesiredService.from_data(json.loads(row[0])) for row in rows]

    def service_record(self, desired: DesiredService, *, command_id: str) -> None:
        """Remembers ``desired`` as applied, unless a newer revision is already recorded."""
        with self._lock:
            self._db.execute(
                _UPSERT,
                (
                    desired.subscription_id,
                    desired.router,
                    desired.revision,
                    desired.status,
                    json.dumps(desired.to_data(), sort_keys=True),
                    command_id,
                    _now(),
                ),
            )

    def services_record(self, applied: Iterable[tuple[DesiredService, str]]) -> None:
        """Remembers many ``(desired, command_id)`` as applied in one transaction (one fsync).

        Same rule as :meth:`service_record` (a newer recorded revision wins). For bulk loads
        (seeding a benchmark, importing a site), where one commit per row would cost one fsync
        per subscription.
        """
        now = _now()
        rows = [
            (
                desired.subscription_id,
                desired.router,
                desired.revision,
                desired.status,
                json.dumps(desired.to_data(), sort_keys=True),
                command_id,
                now,
            )
            for desired, command_id in applied
        ]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(_UPSERT, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def command_processed(self, command_id: str) -> bool:
        """True when the command was fully handled before (its result already published)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM processed_command WHERE command_id = ?", (command_id,)
            ).fetchone()
        return row is not None

    def command_record(self, command_id: str) -> None:
        """Marks the command as fully handled."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO processed_command (command_id, processed_at) VALUES (?, ?)",
                (command_id, _now()),
            )

    def commands_record(self, command_ids: Iterable[str]) -> None:
        """Marks many commands as fully handled in one transaction (one fsync per batch)."""
        now = _now()
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO processed_command (command_id, processed_at) VALUES (?, ?)",
                    [(command_id, now) for command_id in command_ids],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def commands_prune(self, older_than: timedelta = timedelta(days=30)) -> int:
        """Forgets processed command ids older than ``older_than``; returns how many.

        Safe because revisions alone already make a very old redelivery harmless.
        """
        cutoff = (datetime.now(UTC) - older_than).isoformat(timespec="milliseconds")
        with self._lock:
            cursor = self._db.execute("DELETE FROM processed_command WHERE processed_at < ?", (cutoff,))
        return cursor.rowcount
