"""The emulated router: its items and the RouterOS semantics of commands.

The menus it knows are in :mod:`netagent.emulator.menus`, its PPP sessions in
:mod:`netagent.emulator.ppp`.

:class:`RouterState` is transport-agnostic and thread-safe (one re-entrant
lock guards everything), so the TCP server, tests and helper threads (redial
timers) may all touch it concurrently.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netagent.emulator import values
from netagent.emulator.menus import (
    KNOWN_PREFIXES,
    MENUS,
    PRINT_ARGS,
    SINGLETON_MENUS,
    Item,
    MenuSpec,
)
from netagent.emulator.ppp import PPPSessions
from netagent.emulator.query import Query, QueryError

__all__ = ["ApiTrap", "CommandResult", "RouterState"]


class ApiTrap(Exception):
    """A command failed; the server answers one ``!trap`` per message, then ``!done``."""

    def __init__(self, *messages: str, category: int | None = None) -> None:
        super().__init__(messages[-1] if messages else "")
        self.messages: tuple[str, ...] = messages
        self.category = category


#: Properties indexed per menu, so ``?name=``/``?address=``/``?list=`` queries, uniqueness
#: checks and lookups by name cost the same on a router holding 2,500 subscribers as on an
#: empty one (real RouterOS indexes these too; scanning made the emulator slower as it filled).
_INDEXED = ("name", "address", "list")
# Query values that RouterOS compares by meaning (booleans, ids/numbers) cannot be looked up
# by their text in an index; queries using them fall back to a scan.
_MEANINGFUL_WORDS = frozenset({"yes", "true", "no", "false"})
_DEFAULT_PROFILE_IDS = {"default": 0x0, "default-encryption": 0xFFFFFFFE}


@dataclass
class CommandResult:
    """What a command produced: ``!re`` rows and the ``!done`` attributes.

    ``listing`` marks print-like commands, whose empty result may be sent as
    ``!empty`` (RouterOS 7.18+ behaviour).
    """

    rows: list[dict[str, str]] = field(default_factory=list)
    done: dict[str, str] = field(default_factory=dict)
    listing: bool = False


def format_id(number: int) -> str:
    """RouterOS internal id text: ``*`` followed by upper-case hex."""
    return f"*{number:X}"


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class RouterState(PPPSessions):
    """All menus of one emulated router plus the RouterOS rules that act on them.

    Every public method takes the lock, so callers from any thread see a
    consistent router.
    """

    def __init__(
        self,
        identity: str = "MikroTik",
        version: str = "7.16 (stable)",
        board_name: str = "CHR",
        redial_after: float | None = None,
        auto_dial: bool = False,
    ) -> None:
        self.lock = threading.RLock()
        self.identity = identity
        self.version = version
        self.board_name = board_name
        self.started = time.monotonic()
        #: Seconds after a kick before the CPE dials again (None: never).
        self.redial_after = redial_after
        #: When True an enabled secret "dials in" as soon as it is added or enabled.
        self.auto_dial = auto_dial
        # Per menu: id → item, in insertion (= print) order; O(1) lookup and removal by id.
        self._tables: dict[str, dict[int, Item]] = {path: {} for path in MENUS}
        # Per menu and indexed property: value → {id: item}.
        self._index: dict[str, dict[str, dict[str, dict[int, Item]]]] = {
            path: {name: {} for name in _INDEXED} for path in MENUS
        }
        self._next_seq = 0
        self._next_id = 1
        self._timers: list[threading.Timer] = []
        self._session_counter = 0
        for name, number in _DEFAULT_PROFILE_IDS.items():
            props = self._defaults(MENUS["/ppp/profile"])
            props.update(name=name, default="true")
            if name == "default-encryption":
                props["use-encryption"] = "yes"
            self._insert("/ppp/profile", Item(number, props))

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _defaults(spec: MenuSpec) -> dict[str, str]:
        return {f.name: f.default for f in spec.fields if f.default is not None}

    def _allocate_id(self) -> int:
        number = self._next_id
        self._next_id += 1
        return number

    def _render(self, spec: MenuSpec, item: Item) -> dict[str, str]:
        row = {".id": format_id(item.id)}
        for f in spec.fields:
            if f.name == "uptime" and item.connected_at is not None:
                row["uptime"] = values.format_uptime(time.monotonic() - item.connected_at)
            elif f.name in item.props:
                row[f.name] = item.props[f.name]
        return row

    def _spec(self, path: str) -> MenuSpec:
        try:
            return MENUS[path]
        except KeyError:
            raise ApiTrap("no such command prefix") from None

    def _insert(self, path: str, item: Item) -> None:
        item.seq = self._next_seq
        self._next_seq += 1
        self._tables[path][item.id] = item
        self._index_add(path, item)

    def _delete(self, path: str, item: Item) -> None:
        self._index_remove(path, item)
        del self._tables[path][item.id]

    def _index_add(self, path: str, item: Item) -> None:
        for name, by_value in self._index[path].items():
            value = item.props.get(name)
            if value is not None:
                by_value.setdefault(value, {})[item.id] = item

    def _index_remove(self, path: str, item: Item) -> None:
        for name, by_value in self._index[path].items():
            value = item.props.get(name)
            bucket = by_value.get(value) if value is not None else None
            if bucket is not None:
                bucket.pop(item.id, None)
                if not bucket:
                    del by_value[value]  # type: ignore[arg-type]

    def _lookup(self, path: str, name: str, value: str) -> list[Item]:
        """Items of ``path`` whose property ``name`` (indexed) is exactly ``value``, in print order."""
        bucket = self._index[path][name].get(value)
        if not bucket:
            return []
        return sorted(bucket.values(), key=lambda item: item.seq)

    def _find_by_name(self, path: str, name: str) -> Item | None:
        found = self._lookup(path, "name", name)
        return found[0] if found else None

    def _resolve(self, path: str, reference: str) -> list[Item]:
        """Items named by a comma list of ``*ID`` (or names); ``no such item`` if any is missing."""
        found: list[Item] = []
        for token in (t.strip() for t in reference.split(",")):
            item: Item | None = None
            if token.startswith("*"):
                try:
                    number = int(token[1:], 16)
                except ValueError:
                    number = -1
                item = self._tables[path].get(number)
            elif token:
                item = self._find_by_name(path, token)
            if item is None:
                raise ApiTrap("no such item")
            if item not in found:
                found.append(item)
        return found

    def _target_items(self, path: str, attrs: dict[str, str]) -> list[Item]:
        reference = attrs.pop(".id", None)
        numbers = attrs.pop("numbers", None)
        if reference is None:
            reference = numbers
        if reference is None:
            # RouterOS needs to know which item; without .id/numbers it complains.
            raise ApiTrap("no such item")
        return self._resolve(path, reference)

    def _normalise(self, spec: MenuSpec, attrs: Mapping[str, str]) -> dict[str, str]:
        """Validate writable properties and return them as RouterOS would store them."""
        out: dict[str, str] = {}
        for key, raw in attrs.items():
            f = spec.field(key)
            if f is None or not f.writable:
                raise ApiTrap("unknown parameter")
            if f.normalize is not None:
                try:
                    out[key] = f.normalize(raw)
                except ValueError:
                    raise ApiTrap(f"invalid value for argument {key}") from None
            else:
                out[key] = raw
        return out

    def _check_references(self, spec: MenuSpec, props: Mapping[str, str], item: Item | None) -> None:
        """Reject values that must name another object that does not exist."""
        if (
            spec.path == "/ppp/secret"
            and "profile" in props
            and self._find_by_name("/ppp/profile", props["profile"]) is None
        ):
            raise ApiTrap("input does not match any value of profile")
        if spec.path == "/queue/simple" and props.get("parent", "none") != "none":
            parent = self._find_by_name("/queue/simple", props["parent"])
            if parent is None or parent is item:
                raise ApiTrap("input does not match any value of parent")

    def _check_unique(self, spec: MenuSpec, props: Mapping[str, str], item: Item | None) -> None:
        if not spec.unique or not all(key in props for key in spec.unique):
            return
        key = tuple(props[k] for k in spec.unique)
        # Every unique rule includes an indexed property: look only at the items sharing the
        # most selective one (the address, not the list, of an address-list entry).
        index = self._index[spec.path]
        first = min((k for k in spec.unique if k in _INDEXED), key=lambda k: len(index[k].get(props[k], ())))
        for other in self._lookup(spec.path, first, props[first]):
            if other is not item and tuple(other.props.get(k) for k in spec.unique) == key:
                raise ApiTrap(spec.duplicate_message)

    def _auto_queue_name(self) -> str:
        names = self._index["/queue/simple"]["name"]
        number = 1
        while f"queue{number}" in names:
            number += 1
        return f"queue{number}"

    # ---------------------------------------------------------------- commands

    def run(self, word: str, attrs: Mapping[str, str], queries: list[str]) -> CommandResult:
        """Run a full command word such as ``/ppp/secret/add``.

        An unknown menu yields RouterOS' two traps, ``no such command or
        directory (<first unknown segment>)`` then ``no such command prefix``;
        an unknown command in a known menu yields ``no such command``.
        """
        path, _, command = word.rpartition("/")
        if path in MENUS or path in SINGLETON_MENUS:
            return self.execute(path, command, attrs, queries)
        segments = [s for s in word.split("/") if s]
        prefix = ""
        for segment in segments:
            prefix = f"{prefix}/{segment}"
            if prefix not in KNOWN_PREFIXES:
                raise ApiTrap(f"no such command or directory ({segment})", "no such command prefix")
        raise ApiTrap("no such command prefix")

    def execute(self, path: str, command: str, attrs: Mapping[str, str], queries: list[str]) -> CommandResult:
        """Run one API command (``/ppp/secret`` + ``add``) and return its result.

        ``attrs`` are the ``=key=value`` words; ``queries`` the ``?`` words.
        Raises :class:`ApiTrap` with the RouterOS error text on failure.
        """
        attrs = dict(attrs)
        with self.lock:
            if path in SINGLETON_MENUS:
                if command not in SINGLETON_MENUS[path]:
                    raise ApiTrap("no such command")
                return self._singleton(path, command, attrs, queries)
            spec = self._spec(path)
            if command not in spec.commands:
                raise ApiTrap("no such command")
            if command in ("print", "getall"):
                return self._print(spec, attrs, queries)
            if command == "add":
                return CommandResult(done={"ret": self._add(spec, attrs)})
            if command == "set":
                targets = self._target_items(path, attrs)
                for item in targets:
                    self._set(spec, item, attrs)
                return CommandResult()
            if command in ("enable", "disable"):
                targets = self._target_items(path, attrs)
                if attrs:
                    raise ApiTrap("unknown parameter")
                for item in targets:
                    self._set(spec, item, {"disabled": "true" if command == "disable" else "false"})
                return CommandResult()
            if command == "remove":
                targets = self._target_items(path, attrs)
                if attrs:
                    raise ApiTrap("unknown parameter")
                for item in targets:
                    self._remove(spec, item)
                return CommandResult()
            if command == "unset":
                targets = self._target_items(path, attrs)
                names = [n for n in attrs.pop("value-name", "").split(",") if n]
                if attrs or not names:
                    raise ApiTrap("unknown parameter")
                for item in targets:
                    self._unset(spec, item, names)
                return CommandResult()
            raise ApiTrap("no such command")

    def _print(self, spec: MenuSpec, attrs: dict[str, str], queries: list[str]) -> CommandResult:
        candidates = self._candidates(spec.path, queries)
        rows = [self._render(spec, item) for item in candidates]
        # The full query still runs on the candidates: the index only narrows where to look.
        return self._finish_print(rows, attrs, queries)

    def _candidates(self, path: str, queries: list[str]) -> Iterable[Item]:
        """The items a query can match: through an index when it is a plain AND of equalities
        with at least one on an indexed property, else the whole table."""
        best: list[Item] | None = None
        for word in queries:
            body = word[1:]
            if not word.startswith("?") or body[:1] in ("#", "<", ">", "-", ""):
                return self._tables[path].values()  # stack operations or comparisons: scan
            if body.startswith("="):
                body = body[1:]
            name, sep, value = body.partition("=")
            if not sep:
                return self._tables[path].values()  # "has property": scan
            if name not in _INDEXED or value in _MEANINGFUL_WORDS or value.startswith("*") or value.isdigit():
                continue
            found = self._lookup(path, name, value)
            if best is None or len(found) < len(best):
                best = found
        return self._tables[path].values() if best is None else best

    @staticmethod
    def _finish_print(rows: list[dict[str, str]], attrs: dict[str, str], queries: list[str]) -> CommandResult:
        for key in attrs:
            if key not in PRINT_ARGS:
                raise ApiTrap("unknown parameter")
        try:
            query = Query.parse(queries)
        except QueryError as exc:
            raise ApiTrap(f"invalid query: {exc}") from None
        rows = [row for row in rows if query.matches(row)]
        if "count-only" in attrs:
            return CommandResult(done={"ret": str(len(rows))})
        proplist = attrs.get(".proplist")
        if proplist is not None:
            wanted = [p for p in proplist.split(",") if p]
            rows = [{k: row[k] for k in wanted if k in row} for row in rows]
        return CommandResult(rows=rows, listing=True)

    def _singleton(self, path: str, command: str, attrs: dict[str, str], queries: list[str]) -> CommandResult:
        if path == "/system/identity":
            if command == "set":
                unknown = set(attrs) - {"name"}
                if unknown or "name" not in attrs:
                    raise ApiTrap("unknown parameter")
                self.identity = attrs["name"]
                return CommandResult()
            return self._finish_print([{"name": self.identity}], attrs, queries)
        return self._finish_print([self.resource()], attrs, queries)

    def _add(self, spec: MenuSpec, attrs: dict[str, str]) -> str:
        props = self._normalise(spec, attrs)
        for f in spec.fields:
            if f.required and f.name not in props:
                raise ApiTrap(f"failure: {f.name} not specified")
        if spec.path == "/queue/simple" and "name" not in props:
            props["name"] = self._auto_queue_name()
        full = self._defaults(spec)
        full.update(props)
        if spec.path == "/ip/firewall/address-list":
            full["creation-time"] = time.strftime("%Y-%m-%d %H:%M:%S")
        self._check_references(spec, full, None)
        self._check_unique(spec, full, None)
        item = Item(self._allocate_id(), full)
        self._insert(spec.path, item)
        if spec.path == "/ppp/secret" and self.auto_dial and full["disabled"] == "false":
            self._dial(full["name"])
        return format_id(item.id)

    def _set(self, spec: MenuSpec, item: Item, attrs: Mapping[str, str]) -> None:
        changes = self._normalise(spec, attrs)
        merged = {**item.props, **changes}
        if "name" in changes and not changes["name"]:
            raise ApiTrap("invalid value for argument name")
        self._check_references(spec, changes, item)
        self._check_unique(spec, merged, item)
        renames = changes.get("name", item.props.get("name")) != item.props.get("name")
        if spec.path == "/ppp/profile" and item.props.get("default") == "true" and renames:
            raise ApiTrap("failure: cannot change name of default profile")
        was_disabled = item.props.get("disabled") == "true"
        self._index_remove(spec.path, item)
        item.props = merged
        self._index_add(spec.path, item)
        if spec.path == "/ppp/secret":
            now_disabled = merged["disabled"] == "true"
            if now_disabled and not was_disabled:
                # RouterOS drops the session of a secret as soon as it is disabled.
                self._kick_name(merged["name"], redial=False)
            elif was_disabled and not now_disabled and self.auto_dial:
                self._dial(merged["name"])

    def _unset(self, spec: MenuSpec, item: Item, names: list[str]) -> None:
        for name in names:
            f = spec.field(name)
            if f is None or not f.writable:
                raise ApiTrap("unknown parameter")
            if f.required:
                raise ApiTrap(f"failure: can not unset {name}")
        self._index_remove(spec.path, item)
        for name in names:
            f = spec.field(name)
            assert f is not None
            if f.default is None:
                item.props.pop(name, None)
            else:
                item.props[name] = f.default
        self._index_add(spec.path, item)

    def _remove(self, spec: MenuSpec, item: Item) -> None:
        if spec.path == "/ppp/profile" and item.props.get("default") == "true":
            raise ApiTrap("failure: cannot remove default profile")
        self._delete(spec.path, item)
        if spec.path == "/ppp/secret":
            self._kick_name(item.props["name"], redial=False)
        elif spec.path == "/ppp/active":
            self._after_kick(item.props["name"])

    # ------------------------------------------------------------- inspection

    def resource(self) -> dict[str, str]:
        """``/system/resource/print`` as RouterOS 7 prints it (figures are plausible constants)."""
        return {
            "uptime": values.format_uptime(time.monotonic() - self.started),
            "version": self.version,
            "build-time": "2024-09-20 13:00:27",
            "factory-software": "7.1",
            "free-memory": "186306560",
            "total-memory": "268435456",
            "cpu": "QEMU",
            "cpu-count": "1",
            "cpu-frequency": "2400",
            "cpu-load": "3",
            "free-hdd-space": "72916992",
            "total-hdd-space": "93425664",
            "write-sect-since-reboot": "1288",
            "write-sect-total": "1288",
            "architecture-name": "x86_64",
            "board-name": self.board_name,
            "platform": "MikroTik",
        }

    def items(self, path: str) -> list[dict[str, str]]:
        """The items of menu ``path`` exactly as ``print`` would return them."""
        with self.lock:
            if path == "/system/identity":
                return [{"name": self.identity}]
            if path == "/system/resource":
                return [self.resource()]
            spec = self._spec(path)
            return [self._render(spec, item) for item in self._tables[path].values()]

    def find(self, path: str, **match: str) -> list[dict[str, str]]:
        """Printed items of ``path`` whose properties equal ``match`` (``_`` in keys means ``-``)."""
        wanted = {k.replace("_", "-"): v for k, v in match.items()}
        return [row for row in self.items(path) if all(row.get(k) == v for k, v in wanted.items())]

    def add(self, path: str, props: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        """Add an item with the same validation as the API; returns its ``*ID``.

        Keyword names use ``_`` for ``-`` (``remote_address=...``); values are
        stringified (``True`` → ``true``). Raises :class:`ApiTrap` on failure.
        """
        attrs = {k: _stringify(v) for k, v in (props or {}).items()}
        attrs.update({k.replace("_", "-"): _stringify(v) for k, v in kwargs.items()})
        return self.execute(path, "add", attrs, []).done["ret"]

    def load_seed(self, seed: Mapping[str, Any]) -> None:
        """Preload a seed document (see the package docs for the format)."""
        sections: Iterable[tuple[str, str]] = (
            ("profiles", "/ppp/profile"),
            ("secrets", "/ppp/secret"),
            ("queues", "/queue/simple"),
            ("address_list", "/ip/firewall/address-list"),
        )
        with self.lock:
            if "identity" in seed:
                self.identity = str(seed["identity"])
            for key, path in sections:
                for entry in seed.get(key, []):
                    self.add(path, entry)
            connect = seed.get("connect", False)
            if connect is True:
                self.connect_all()
            elif isinstance(connect, list):
                for name in connect:
                    self.connect_pppoe(str(name))
