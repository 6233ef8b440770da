"""What a consumer needs from an inbox (applying a message once), and one held in memory.

The Django inbox (``enlace_messaging.django.inbox.DjangoInbox``) records the messages in a
database, in the transaction of their effect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from enlace_messaging.envelope import Envelope

# Applies one message.
Handler = Callable[[Envelope], None]
# Applies several messages at once, in their order (one query per step instead of per message).
BatchHandler = Callable[[Sequence[Envelope]], None]


class Inbox(Protocol):
    """Records which messages a consumer group has applied, atomically with their effect."""

    def process(self, envelope: Envelope, handle: Handler) -> bool:
        """Applies ``handle(envelope)`` unless already applied; False when it was a duplicate.

        Whatever ``handle`` raises propagates, and then the message counts as not applied.
        """
        ...

    def process_many(self, envelopes: Sequence[Envelope], handle_many: BatchHandler) -> int:
        """Applies ``handle_many`` once to those of ``envelopes`` not applied before, in order.

        Returns how many were applied (the rest were duplicates). All or nothing: whatever
        ``handle_many`` raises propagates, and then none of them counts as applied.
        """
        ...

    def batch(self) -> AbstractContextManager[None]:
        """Groups the ``process`` calls made inside it into one unit of commit.

        Each ``process`` inside stays atomic on its own (a failure undoes only that message),
        but the effects commit together when the block exits without error; if the block
        raises, none of them is committed.
        """
        ...

    def close(self) -> None:
        """Releases the resources (database connections) of the calling thread."""
        ...


class MemoryInbox:
    """An inbox held in this process's memory, for consumers without a database.

    It forgets everything on restart, so only effects that are themselves idempotent (the
    netagent's desired state with revisions) may rely on it.
    """

    def __init__(self, max_ids: int = 100_000) -> None:
        self._ids: dict[str, None] = {}
        self._max_ids = max_ids
        self._lock = threading.Lock()

    def process(self, envelope: Envelope, handle: Handler) -> bool:
        with self._lock:
            if envelope.id in self._ids:
                return False
            handle(envelope)
            self._ids[envelope.id] = None
            if len(self._ids) > self._max_ids:
                # Forget the oldest id: a dict keeps insertion order.
                del self._ids[next(iter(self._ids))]
            return True

    def process_many(self, envelopes: Sequence[Envelope], handle_many: BatchHandler) -> int:
        with self._lock:
            fresh = list({e.id: e for e in envelopes if e.id not in self._ids}.values())
            if fresh:
                handle_many(fresh)
            for envelope in fresh:
                self._ids[envelope.id] = None
            while len(self._ids) > self._max_ids:
                del self._ids[next(iter(self._ids))]
            return len(fresh)

    def batch(self) -> AbstractContextManager[None]:
        """Nothing to group: each message is recorded in memory as it is applied."""
        return nullcontext()

    def close(self) -> None:
        return None
