"""Which offsets may be committed when records finish out of order.

Records of one partition are spread over several router lanes and finish in any order. A
partition's committable offset is the lowest offset still in progress (or one past the highest
seen when none is), so a crash replays every unfinished record and skips none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable


class OffsetTracker:
    """Thread-safe bookkeeping of in-progress offsets per partition."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Hashable, set[int]] = {}
        self._next: dict[Hashable, int] = {}
        self._committed: dict[Hashable, int] = {}
        # Bumped when a partition is revoked, so a late ack from before cannot count afterwards.
        self._epoch: dict[Hashable, int] = {}

    def track(self, partition: Hashable, offset: int) -> Callable[[], None]:
        """Records ``offset`` as in progress; returns the callable that marks it done."""
        with self._lock:
            self._pending.setdefault(partition, set()).add(offset)
            self._next[partition] = max(self._next.get(partition, 0), offset + 1)
            epoch = self._epoch.get(partition, 0)

        def ack() -> None:
            with self._lock:
                if self._epoch.get(partition, 0) == epoch:
                    self._pending.get(partition, set()).discard(offset)

        return ack

    def committable(self) -> dict[Hashable, int]:
        """Partitions whose committable offset moved past the last :meth:`committed` one."""
        out: dict[Hashable, int] = {}
        with self._lock:
            for partition, upto in self._next.items():
                pending = self._pending.get(partition)
                offset = min(pending) if pending else upto
                if offset > self._committed.get(partition, -1):
                    out[partition] = offset
        return out

    def committed(self, offsets: dict[Hashable, int]) -> None:
        """Notes that ``offsets`` were committed."""
        with self._lock:
            for partition, offset in offsets.items():
                if partition in self._next:
                    self._committed[partition] = max(self._committed.get(partition, -1), offset)

    def done_upto(self, partition: Hashable) -> int | None:
        """The offset below which every record of ``partition`` is finished (None: none seen)."""
        with self._lock:
            if partition not in self._next:
                return None
            pending = self._pending.get(partition)
            return min(pending) if pending else self._next[partition]

    def pending(self, partition: Hashable) -> int:
        """How many records of ``partition`` are in progress."""
        with self._lock:
            return len(self._pending.get(partition, ()))

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """Drops revoked partitions: their unfinished records will be read again by their next owner."""
        with self._lock:
            for partition in partitions:
                self._pending.pop(partition, None)
                self._next.pop(partition, None)
                self._committed.pop(partition, None)
                self._epoch[partition] = self._epoch.get(partition, 0) + 1
