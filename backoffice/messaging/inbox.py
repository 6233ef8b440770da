"""The inbox of a consumer group in a Django database: a message's effect happens once."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager

from django.db import connections, transaction
from django.utils import timezone

from backoffice.messaging.envelope import Envelope
from backoffice.messaging.kafka import Handler
from backoffice.messaging.models import InboxMessage

# Table and column names come from the model, never from a message: nothing to inject.
_INSERT_ONCE = (
    "INSERT INTO {table} (consumer_group, message_id, message_type, processed_at) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


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
