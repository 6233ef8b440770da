"""PPP sessions of the emulated router: CPEs dialing in over PPPoE, kicks and redials.

:class:`PPPSessions` is mixed into :class:`~netagent.emulator.state.RouterState`, which owns
the tables and the lock these methods use.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import threading
import time
from collections.abc import Mapping

from netagent.emulator.menus import MENUS, Item, MenuSpec


class PPPoEError(ValueError):
    """A simulated PPPoE dial-in was refused (unknown, disabled or wrong-service secret)."""


# The pool a session takes its address from when neither its secret nor its profile names one.
ACTIVE_POOL = ipaddress.ip_network("10.254.0.0/16")


class PPPSessions:
    """The ``/ppp/active`` behaviour of a router; the router state provides the table access."""

    lock: threading.RLock
    redial_after: float | None
    _timers: list[threading.Timer]
    _session_counter: int
    _tables: dict[str, dict[int, Item]]
    _index: dict[str, dict[str, dict[str, dict[int, Item]]]]

    def _lookup(self, path: str, name: str, value: str) -> list[Item]:
        raise NotImplementedError

    def _find_by_name(self, path: str, name: str) -> Item | None:
        raise NotImplementedError

    def _delete(self, path: str, item: Item) -> None:
        raise NotImplementedError

    def _insert(self, path: str, item: Item) -> None:
        raise NotImplementedError

    def _render(self, spec: MenuSpec, item: Item) -> dict[str, str]:
        raise NotImplementedError

    def _allocate_id(self) -> int:
        raise NotImplementedError

    @staticmethod
    def _defaults(spec: MenuSpec) -> dict[str, str]:
        raise NotImplementedError

    def _kick_name(self, name: str, redial: bool) -> int:
        kicked = self._lookup("/ppp/active", "name", name)
        for item in kicked:
            self._delete("/ppp/active", item)
        if kicked and redial:
            self._after_kick(name)
        return len(kicked)

    def _after_kick(self, name: str) -> None:
        """Schedule the CPE's redial if :attr:`redial_after` is set."""
        if self.redial_after is None:
            return
        timer = threading.Timer(self.redial_after, self._redial, args=(name,))
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()]
        self._timers.append(timer)
        timer.start()

    def _redial(self, name: str) -> None:
        # The secret may have been disabled/removed meanwhile: then the CPE stays offline.
        with self.lock, contextlib.suppress(PPPoEError):
            self._dial(name)

    def _assign_address(self, secret: Mapping[str, str]) -> str:
        if "remote-address" in secret:
            return secret["remote-address"]
        profile = self._find_by_name("/ppp/profile", secret.get("profile", "default"))
        if profile is not None:
            try:
                return str(ipaddress.ip_address(profile.props.get("remote-address", "")))
            except ValueError:
                pass  # a pool name (or nothing): take an address from the emulator's pool
        used = self._index["/ppp/active"]["address"]
        for host in ACTIVE_POOL.hosts():
            if str(host) not in used:
                return str(host)
        raise PPPoEError("address pool exhausted")

    @staticmethod
    def _caller_id(name: str) -> str:
        digest = hashlib.sha256(name.encode()).digest()
        # Locally administered unicast MAC derived from the name: stable across runs.
        octets = [(digest[0] | 0x02) & 0xFE, *digest[1:6]]
        return ":".join(f"{b:02X}" for b in octets)

    def _dial(self, name: str, caller_id: str | None = None) -> dict[str, str]:
        secret = self._find_by_name("/ppp/secret", name)
        if secret is None:
            raise PPPoEError(f"no secret named {name!r}")
        if secret.props.get("disabled") == "true":
            raise PPPoEError(f"secret {name!r} is disabled")
        if secret.props.get("service") not in ("any", "pppoe"):
            raise PPPoEError(f"secret {name!r} is not for pppoe")
        for existing in self._lookup("/ppp/active", "name", name):
            return self._render(MENUS["/ppp/active"], existing)
        self._session_counter += 1
        props = self._defaults(MENUS["/ppp/active"])
        props.update(
            {
                "name": name,
                "service": "pppoe",
                "caller-id": caller_id or secret.props.get("caller-id") or self._caller_id(name),
                "address": self._assign_address(secret.props),
                "session-id": f"0x81{self._session_counter:06X}",
                "limit-bytes-in": secret.props.get("limit-bytes-in", "0"),
                "limit-bytes-out": secret.props.get("limit-bytes-out", "0"),
            }
        )
        item = Item(self._allocate_id(), props, connected_at=time.monotonic())
        self._insert("/ppp/active", item)
        return self._render(MENUS["/ppp/active"], item)

    def connect_pppoe(self, name: str, caller_id: str | None = None) -> dict[str, str]:
        """Simulate the CPE of secret ``name`` dialing in over PPPoE.

        Adds a ``/ppp/active`` entry (name, service=pppoe, caller-id, address
        from the secret's remote-address, the profile's remote-address or an
        emulator pool 10.254.0.0/16, uptime) and returns it as printed. If the
        secret is already online the existing entry is returned. Raises
        :class:`PPPoEError` if the secret is missing, disabled or not for pppoe.
        """
        with self.lock:
            return self._dial(name, caller_id)

    def disconnect_pppoe(self, name: str) -> int:
        """Kick the sessions of ``name`` as ``/ppp/active/remove`` would; returns how many.

        The redial timer (if :attr:`redial_after` is set) applies as for an API kick.
        """
        with self.lock:
            return self._kick_name(name, redial=True)

    def connect_all(self) -> list[dict[str, str]]:
        """Dial in every enabled pppoe-capable secret that is not online; return the new entries."""
        with self.lock:
            online = self._index["/ppp/active"]["name"]
            out: list[dict[str, str]] = []
            for secret in list(self._tables["/ppp/secret"].values()):
                name = secret.props["name"]
                if name in online or secret.props.get("disabled") == "true":
                    continue
                if secret.props.get("service") not in ("any", "pppoe"):
                    continue
                out.append(self._dial(name))
            return out

    def cancel_timers(self) -> None:
        """Stop pending redial timers (called when the emulator shuts down)."""
        with self.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
