"""The inbox of a consumer group in a Django database: a message's effect happens once."""

from __future__ import annotations

from django.db import IntegrityError, connections, transaction

from backoffice.messaging.envelope import Envelope
from backoffice.messaging.kafka import Handler
from backoffice.messaging.models import InboxMessage


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
            try:
                # A savepoint, so a duplicate leaves the outer transaction usable. Two members
                # racing on one message serialise on the unique index: the second waits for
                # the first to commit, then fails here.
                with transaction.atomic(using=self.using):
                    InboxMessage.objects.using(self.using).create(
                        consumer_group=self.consumer_group,
                        message_id=envelope.id,
                        message_type=envelope.type,
                    )
            except IntegrityError:
                return False
            handle(envelope)
        return True

    def close(self) -> None:
        """Closes this thread's connection to the inbox database."""
        connections[self.using].close()
