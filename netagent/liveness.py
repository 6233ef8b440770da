"""Noticing that a router may have lost what the netagent put on it.

A router that was unreachable may have been reset or replaced by an empty one (its
configuration restored from an old backup, a spare swapped in); one whose uptime went
backwards rebooted. Either way every subscriber on it may be without secret or queue until
the next reconcile, so the agent reconciles such a router as soon as it reaches it again
instead of waiting for the periodic run (``netagent.agent``).

:class:`RouterWatch` wraps a router connection (the same four verbs, so the applier uses it
as any :class:`~netagent.apply.Router`) and remembers a transient failure, and :meth:`probe`
reads ``/system/resource`` to compare the uptime with the last one seen. One per router lane,
used only by that lane's thread.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from netagent.apply import Router
from netagent.routeros import RouterError

RESOURCE = "/system/resource"

#: Seconds an uptime may fall short of the expected one before it counts as a reboot: the
#: router prints whole seconds, and the probe's own round trip takes a moment.
UPTIME_SLACK = 2.0

_UPTIME_PART = re.compile(r"(\d+)([wdhms])")
_UPTIME_CLOCK = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(\d+):(\d\d):(\d\d)$")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}

T = TypeVar("T")


def uptime_seconds(text: str) -> float:
    """``1w2d3h4m5s`` (or RouterOS 6's ``1w2d03:04:05``) in seconds; raises ValueError."""
    text = text.strip()
    clock = _UPTIME_CLOCK.match(text)
    if clock:
        weeks, days, hours, minutes, seconds = (int(part or 0) for part in clock.groups())
        return float(weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds)
    parts = _UPTIME_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not an uptime: {text!r}")
    return float(sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts))


class RouterWatch:
    """A router connection that notices when the router may have lost its configuration.

    :attr:`needs_restore` becomes true after a transient :class:`RouterError` (the router was
    unreachable, the connection dropped) and when :meth:`probe` finds the uptime lower than
    the last one seen plus the time since (a reboot); :meth:`restored` clears it once the
    router was reconciled.
    """

    def __init__(self, router: Router, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.router = router
        self.name = router.name
        self._clock = clock
        self._lost = False
        self._rebooted = False
        #: (uptime in seconds, our clock when it was read), from the last probe.
        self._uptime: tuple[float, float] | None = None
        #: Our clock when the router was last reconciled (None: not since the agent started).
        self.reconciled_at: float | None = None

    @property
    def needs_restore(self) -> bool:
        """Whether the router may have lost what it held since it was last reconciled."""
        return self._lost or self._rebooted

    def restored(self) -> None:
        """Records that the router was just reconciled."""
        self._lost = self._rebooted = False
        self.reconciled_at = self._clock()

    def probe(self) -> None:
        """Reads the router's uptime and notes a reboot. Raises RouterError (and then notes
        the router as lost when retrying can help)."""
        rows = self.print(RESOURCE)
        now = self._clock()
        try:
            uptime = uptime_seconds(rows[0]["uptime"])
        except (IndexError, KeyError, ValueError) as exc:
            raise RouterError(f"{RESOURCE}: no readable uptime", permanent=True, router=self.name) from exc
        if self._uptime is not None:
            last_uptime, read_at = self._uptime
            if uptime + UPTIME_SLACK < last_uptime + (now - read_at):
                self._rebooted = True
        self._uptime = (uptime, now)

    # ------------------------------------------------------------- the four verbs

    def print(self, path: str, **query: str) -> list[dict[str, str]]:
        return self._watched(lambda: self.router.print(path, **query))

    def add(self, path: str, props: Mapping[str, str]) -> str | None:
        return self._watched(lambda: self.router.add(path, props))

    def set(self, path: str, item_id: str, props: Mapping[str, str]) -> None:
        self._watched(lambda: self.router.set(path, item_id, props))

    def remove(self, path: str, item_id: str) -> bool:
        return self._watched(lambda: self.router.remove(path, item_id))

    def _watched(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except RouterError as exc:
            if not exc.permanent:
                # Unreachable or cut off: whatever answers next may be a reset or another box;
                # it is reconciled then, and its uptime is the new baseline.
                self._lost = True
                self._uptime = None
            raise
