"""The inbox of a consumer group in a Django database: a message's effect happens once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from enlace_messaging.django.models import InboxMessage
from enlace_messaging.envelope import Envelope
from enlace_messaging.inbox import BatchHandler, Handler

# Table and column names come from the model, never from a message: nothing to inject.
_INSERT_ONCE = (
    "INSERT INTO {table} (consumer_group, message_id, message_type, processed_at) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
_INSERT_MANY_ONCE = (
    "INSERT INTO {table} (consumer_group, message_id, message_type, processed_at) "
    "VALUES {rows} ON CONFLICT DO NOTHING RETURNING message_id"
)
# Rows per INSERT: 4 parameters each stays far below every backend's parameter limit.
_ROWS_PER_INSERT = 200


class DjangoInbox:
    """Records each applied message in ``InboxMessage`` in the transaction of its effect.

    Free of back-office specifics: the portal uses it with its own database alias.
    """

    def __init__(self, using: str, consumer_group: str) -> None:
        self.using = using
        self.consumer_group = consumer_group

    def process(self, envelope: Envelope, handle: Handler) -> bool:
        """Runs ``handle(envelope)`` in one transaction with the inbox row; False for a duplicate.

        The handler may write (and call ``outbox_put(using=self.using, ...)``); anything it
        raises rolls back both its writes and the inbox row, and propagates.
        """
        with transaction.atomic(using=self.using):
            if not self._record(envelope):
                return False
            handle(envelope)
        return True

    def process_many(self, envelopes: Sequence[Envelope], handle_many: BatchHandler) -> int:
        """Runs ``handle_many`` on the messages not applied before, in one transaction with
        their inbox rows; returns how many it got (a message twice in ``envelopes`` counts once).

        Anything ``handle_many`` raises rolls back its writes and every inbox row, and propagates.
        """
        # By the canonical form of the id: a producer may write a uuid in capitals.
        unique: dict[str, Envelope] = {}
        for envelope in envelopes:
            unique.setdefault(str(uuid.UUID(envelope.id)), envelope)
        with transaction.atomic(using=self.using):
            recorded = self._record_many(list(unique.values()))
            fresh = [envelope for message_id, envelope in unique.items() if message_id in recorded]
            if fresh:
                handle_many(fresh)
        return len(fresh)

    def _record_many(self, envelopes: Sequence[Envelope]) -> set[str]:
        """Inserts the inbox rows of ``envelopes``; returns the ids that were new to the group.

        ``RETURNING`` names the rows really inserted, so the duplicates are known from the same
        statement (PostgreSQL, and SQLite from 3.35).
        """
        connection = connections[self.using]
        field = InboxMessage._meta.get_field("message_id")
        table = connection.ops.quote_name(InboxMessage._meta.db_table)
        now = timezone.now()
        recorded: set[str] = set()
        with connection.cursor() as cursor:
            for start in range(0, len(envelopes), _ROWS_PER_INSERT):
                chunk = envelopes[start : start + _ROWS_PER_INSERT]
                params: list[Any] = []
                for envelope in chunk:
                    message_id = field.get_db_prep_save(uuid.UUID(envelope.id), connection)  # type: ignore[union-attr]
                    params += [self.consumer_group, message_id, envelope.type, now]
                rows = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
                cursor.execute(_INSERT_MANY_ONCE.format(table=table, rows=rows), params)
                # Back as this backend stores a uuid (a UUID, or hex digits): compare canonically.
                recorded.update(str(uuid.UUID(str(value))) for (value,) in cursor.fetchall())
        return recorded

    def _record(self, envelope: Envelope) -> bool:
        """Inserts the inbox row; False when the group already has it.

        ``INSERT ... ON CONFLICT DO NOTHING`` instead of a savepoint around a plain INSERT: two
        statements fewer per message on the consumers' hot path, and a duplicate does not
        abort the transaction. Two members racing on one message still serialise on the
        unique index: the second waits for the first to commit, then inserts nothing.
        """
        connection = connections[self.using]
        # The uuid as this backend stores it (SQLite: 32 hex digits), as the ORM would write it.
        message_id = InboxMessage._meta.get_field("message_id").get_db_prep_save(  # type: ignore[union-attr]
            uuid.UUID(envelope.id), connection
        )
        params = [self.consumer_group, message_id, envelope.type, timezone.now()]
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_ONCE.format(table=connection.ops.quote_name(InboxMessage._meta.db_table)), params
            )
            return bool(cursor.rowcount == 1)

    def batch(self) -> AbstractContextManager[None]:
        """One transaction around several ``process`` calls: one commit (and fsync) for all.

        Inside it each ``process`` runs in a savepoint, so a handler error or a duplicate
        undoes only that message; the others commit together when the block exits.
        """
        return transaction.atomic(using=self.using)

    def close(self) -> None:
        """Closes this thread's connection to the inbox database."""
        connections[self.using].close()
