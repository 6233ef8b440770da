"""Making a router match a subscription's desired state, and reading it back.

Pure domain: it talks to a :class:`Router` (the four RouterOS verbs) and knows nothing about
Kafka or the API library. Every function is idempotent: running it again on a router that
already matches changes nothing, which is what makes replays and reconciles harmless.

What a subscriber owns on a router (``<tag>`` is the configured comment tag, ``enlace``):

- the PPP secret named after the PPPoE username (password, profile, remote-address = the
  subscriber's address, service pppoe, enabled), comment ``<tag>:sub=<id>``;
- the speed: in ``queue`` mode a simple queue ``<tag>-<username>`` (target the address,
  max-limit ``upload/download`` in bits per second); in ``profile`` mode the secret's profile,
  either the one the command names or a managed PPP profile ``<tag>-<download>-<upload>``
  with that rate-limit (shared by everyone on the plan, so never removed);
- while suspended, an entry for the address in the suspension address list (``morosos``).
  Suspended subscribers keep their secret enabled: the firewall rules of that list decide
  what they reach (the portal, to pay).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from backoffice.messaging.redaction import REDACTED
from netagent.routeros import RouterError

logger = logging.getLogger(__name__)

Status = Literal["active", "suspended", "terminated"]

SECRETS = "/ppp/secret"
PROFILES = "/ppp/profile"
ACTIVE = "/ppp/active"
QUEUES = "/queue/simple"
ADDRESS_LIST = "/ip/firewall/address-list"

#: Where the managed PPP profiles of ``speed_mode: profile`` say they are ours.
PLAN_COMMENT = "{tag}:plan"

_RATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


class Router(Protocol):
    """What the applier needs from a router connection (see ``netagent.routeros.RouterClient``)."""

    name: str

    def print(self, path: str, **query: str) -> list[dict[str, str]]: ...

    def add(self, path: str, props: Mapping[str, str]) -> str | None: ...

    def set(self, path: str, item_id: str, props: Mapping[str, str]) -> None: ...

    def remove(self, path: str, item_id: str) -> bool: ...


class ForeignItem(RouterError):
    """A router item the command would touch does not carry the comment Enlace gave it.

    Permanent: the item was made by hand (or by another system) and is left as it is; the
    command fails (``network.command.failed`` + DLQ) until an operator removes or re-tags it.
    Matching by comment, never by name alone, means a forged or mistaken command naming an
    existing secret, queue or address-list entry cannot take it over.
    """

    def __init__(self, path: str, label: str, comment: str | None, *, owner: str, router: str) -> None:
        super().__init__(
            f"{path} {label} was not created by Enlace for this subscription "
            f"(comment {comment or '(none)'!r}, expected {owner!r}); left untouched",
            permanent=True,
            router=router,
        )


@dataclass(frozen=True)
class ApplySettings:
    """Site-wide choices from the config."""

    suspension_list: str = "morosos"
    tag: str = "enlace"
    speed_mode: Literal["queue", "profile"] = "queue"


@dataclass(frozen=True)
class DesiredService:
    """What one subscription should look like on its router (a ``network.service.desired``)."""

    subscription_id: int
    router: str
    revision: int
    status: Status
    username: str
    password: str
    address: str
    download: str
    upload: str
    profile: str | None = None
    kick: bool = False
    client_id: int | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> DesiredService:
        """From a command's ``data`` (already schema-checked)."""
        pppoe = data["pppoe"]
        return cls(
            subscription_id=int(data["subscription_id"]),
            router=str(data["router"]),
            revision=int(data["revision"]),
            status=data["status"],
            username=str(pppoe["username"]),
            password=str(pppoe["password"]),
            profile=pppoe.get("profile"),
            address=str(data["address"]),
            download=str(data["speed"]["download"]),
            upload=str(data["speed"]["upload"]),
            kick=bool(data.get("kick", False)),
            client_id=data.get("client_id"),
        )

    def to_data(self) -> dict[str, Any]:
        """Back to a command's ``data`` shape (what the state file keeps)."""
        pppoe: dict[str, Any] = {"username": self.username, "password": self.password}
        if self.profile is not None:
            pppoe["profile"] = self.profile
        return {
            "subscription_id": self.subscription_id,
            "client_id": self.client_id,
            "router": self.router,
            "revision": self.revision,
            "status": self.status,
            "pppoe": pppoe,
            "address": self.address,
            "speed": {"download": self.download, "upload": self.upload},
            "kick": self.kick,
        }


class ItemCache:
    """What this agent last proved one router holds: managed secrets and queues, as wanted.

    An entry is put only after the router's own answer showed the item as wanted (a print
    that matched, or the read-back of a write), and the applier then skips printing that item
    for an ordinary command that wants it exactly the same (a suspension or a reactivation
    does not touch the secret or the queue): 2 of the 6 API calls of a suspension.

    Hand edits between commands are therefore repaired by the reconcile (periodic, or the
    ``network.router.reconcile`` command), which never trusts the cache and refreshes it, or
    by the next command that changes the item. Entries are dropped when the applier removes
    the item, when a reconcile finds it missing or different, and all of them when the
    connection to the router fails (it may have been reset or restored meanwhile).

    One per router, used only by that router's lane (not thread-safe).
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], dict[str, str]] = {}

    def proven(self, path: str, name: str, wanted: Mapping[str, str]) -> bool:
        """Whether the router was last seen holding item ``name`` of ``path`` exactly as ``wanted``."""
        return self._items.get((path, name)) == dict(wanted)

    def put(self, path: str, name: str, wanted: Mapping[str, str]) -> None:
        self._items[(path, name)] = dict(wanted)

    def discard(self, path: str, name: str) -> None:
        self._items.pop((path, name), None)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class ApplyReport:
    """What applying changed (human-readable, for logs and reconcile reports)."""

    changes: list[str] = field(default_factory=list)
    kicked: bool = False
    online: bool | None = None


@dataclass(frozen=True)
class Diagnosis:
    """A subscriber's live PPP session as the router sees it."""

    online: bool
    address: str | None = None
    uptime: str | None = None
    caller_id: str | None = None


def rate_bps(text: str) -> int:
    """``20M`` → 20000000 (k/M/G are powers of 1000, as RouterOS reads them).

    Raises ValueError on anything else.
    """
    match = _RATE.match(text.strip())
    if not match:
        raise ValueError(f"not a rate: {text!r}")
    number, suffix = match.groups()
    return int(float(number) * _MULTIPLIERS[suffix.lower()])


def _rate_pair(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(rate_bps(part) for part in text.split("/"))
    except ValueError:
        return None


def comment_for(settings: ApplySettings, subscription_id: int) -> str:
    return f"{settings.tag}:sub={subscription_id}"


def queue_name(settings: ApplySettings, username: str) -> str:
    return f"{settings.tag}-{username}"


def plan_profile_name(settings: ApplySettings, desired: DesiredService) -> str:
    return f"{settings.tag}-{desired.download}-{desired.upload}"


def _max_limit(desired: DesiredService) -> str:
    # RouterOS orders queue limits upload/download (target's upload first).
    return f"{rate_bps(desired.upload)}/{rate_bps(desired.download)}"


def _same_address(a: str | None, b: str) -> bool:
    if a is None:
        return False
    try:
        return ipaddress.ip_network(a.split(",")[0], strict=False) == ipaddress.ip_network(b, strict=False)
    except ValueError:
        return a == b


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("true", "yes")


def _mismatched(row: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, str]:
    """The wanted properties the row does not have (booleans, rates and addresses compared by value)."""
    out: dict[str, str] = {}
    for key, value in wanted.items():
        have = row.get(key)
        if key == "disabled":
            same = _flag(have) == _flag(value)
        elif key in ("max-limit", "rate-limit"):
            same = have is not None and _rate_pair(have.split()[0]) == _rate_pair(value)
        elif key in ("target", "remote-address"):
            same = _same_address(have, value)
        else:
            same = have == value
        if not same:
            out[key] = value
    return out


def _ensure_owned(router: Router, path: str, rows: Iterable[Mapping[str, str]], owner: str) -> None:
    """Raises ForeignItem unless every row carries the ``owner`` comment Enlace wrote on it."""
    for row in rows:
        if row.get("comment") != owner:
            label = row.get("name") or row.get("address") or row.get(".id", "?")
            raise ForeignItem(path, label, row.get("comment"), owner=owner, router=router.name)


def _ensure(
    router: Router, path: str, match: Mapping[str, str], wanted: Mapping[str, str], what: str
) -> str | None:
    """Makes exactly one item matching ``match`` carry ``wanted``; returns a change note or None.

    An existing item is changed only when it carries ``wanted["comment"]`` (ours); otherwise
    ForeignItem is raised and nothing is written. None means the router already held it as
    wanted: the print here was the read-back, so the caller need not read it again.
    """
    rows = router.print(path, **match)
    if not rows:
        if router.add(path, {**match, **wanted}) is not None:
            return f"{what} created"
        # Someone (a concurrent hand edit) added it between our print and add: it is theirs
        # unless it carries our comment.
        rows = router.print(path, **match)
        if not rows:
            raise RouterError(
                f"{path}: add said it exists but print finds none", permanent=False, router=router.name
            )
    _ensure_owned(router, path, rows, wanted["comment"])
    first, *extra = rows
    notes: list[str] = []
    changes = _mismatched(first, wanted)
    if changes:
        router.set(path, first[".id"], changes)
        notes.append(f"{what} updated ({', '.join(sorted(changes))})")
    for duplicate in extra:
        # Only possible for menus without a unique key; duplicates would double-limit a subscriber.
        router.remove(path, duplicate[".id"])
        notes.append(f"{what} duplicate removed")
    return "; ".join(notes) or None


def _remove_all(router: Router, path: str, rows: Iterable[Mapping[str, str]], what: str) -> list[str]:
    return [f"{what} removed" for row in rows if router.remove(path, row[".id"])]


def _suspension_entries(
    router: Router, settings: ApplySettings, address: str, *, owner: str | None = None
) -> list[dict[str, str]]:
    """The suspension-list entries of ``address``; with ``owner``, raises ForeignItem if
    one does not carry that comment (an entry put there by hand is never ours to remove)."""
    # Asked by list *and* address: printing the whole list and filtering here made every command
    # cost O(subscribers suspended on the router) in rows sent, decoded and compared (2,500 rows
    # per command in a 10,000-subscriber overdue run). The applier writes addresses as the
    # network service sends them (plain host), and RouterOS keeps them as written.
    rows = router.print(ADDRESS_LIST, list=settings.suspension_list, address=address)
    entries = [row for row in rows if _same_address(row.get("address"), address)]
    if owner is not None:
        _ensure_owned(router, ADDRESS_LIST, entries, owner)
    return entries


def session_kick(router: Router, username: str) -> bool:
    """Drops the live PPP sessions of ``username`` so a change bites; True if there was one."""
    return _sessions_kick(router, router.print(ACTIVE, name=username))


def _sessions_kick(router: Router, sessions: Iterable[Mapping[str, str]]) -> bool:
    kicked = False
    for row in sessions:
        kicked = router.remove(ACTIVE, row[".id"]) or kicked
    return kicked


def service_apply(
    router: Router,
    desired: DesiredService,
    settings: ApplySettings,
    *,
    previous: DesiredService | None,
    replay: bool,
    cache: ItemCache | None = None,
) -> ApplyReport:
    """Makes ``router`` hold exactly ``desired`` for the subscription, then reads it back.

    ``previous`` is the state last applied (to clean up a renamed user or a moved address and to
    see a status transition). With ``replay`` (the same revision again, or a reconcile) only
    drift is repaired: sessions are never kicked. Otherwise the session is kicked when the
    subscriber becomes suspended, on ``kick: true`` and on termination.

    Raises RouterError; a read-back that still differs is a permanent RouterError.

    Round trips: an item found as wanted is not read again (its print was the read-back), an
    address-list entry the router just accepted (``add`` returned its id) or removed is not
    either; only items this call created or changed are read back. One ``/ppp/active`` print
    serves both the kick and the ``online`` answer. A suspension of an active subscriber thus
    costs 6 API calls (print secret, print queue, print entry, add entry, print session,
    remove session) instead of 10, none of them listing the whole suspension list; 4 when
    ``cache`` proves the secret and the queue (see :class:`ItemCache`; a replay never trusts
    it, so reconciles read everything and refresh it).
    """
    try:
        return _service_apply(router, desired, settings, previous=previous, replay=replay, cache=cache)
    except RouterError:
        if cache is not None:
            # Unsure what the router holds now (a write may or may not have happened).
            cache.clear()
        raise


def _service_apply(
    router: Router,
    desired: DesiredService,
    settings: ApplySettings,
    *,
    previous: DesiredService | None,
    replay: bool,
    cache: ItemCache | None,
) -> ApplyReport:
    if desired.password == REDACTED and desired.status != "terminated":
        raise RouterError(
            "the PPPoE password was redacted (a dead-letter record replayed?); "
            "have the network service send the service again",
            permanent=True,
            router=router.name,
        )
    report = ApplyReport()
    if previous is not None and previous.username != desired.username:
        _forget(cache, settings, previous.username)
        report.changes += _service_remove(router, previous, settings, keep_address=desired.address)
    elif previous is not None and not _same_address(previous.address, desired.address):
        report.changes += _remove_all(
            router,
            ADDRESS_LIST,
            _suspension_entries(
                router, settings, previous.address, owner=comment_for(settings, previous.subscription_id)
            ),
            f"suspension entry of the old address {previous.address}",
        )

    if desired.status == "terminated":
        _forget(cache, settings, desired.username)
        report.changes += _service_remove(router, desired, settings)
        report.online = False
        return report

    comment = comment_for(settings, desired.subscription_id)
    profile = desired.profile or "default"
    if settings.speed_mode == "profile" and desired.profile is None:
        profile = plan_profile_name(settings, desired)
        note = _ensure(
            router,
            PROFILES,
            {"name": profile},
            {"rate-limit": _max_limit(desired), "comment": PLAN_COMMENT.format(tag=settings.tag)},
            f"profile {profile}",
        )
        report.changes += [note] if note else []

    secret = {
        "password": desired.password,
        "profile": profile,
        "remote-address": desired.address,
        "service": "pppoe",
        "disabled": "false",
        "comment": comment,
    }
    trust = cache is not None and not replay
    secret_written = False
    if not (trust and cache is not None and cache.proven(SECRETS, desired.username, secret)):
        note = _ensure(router, SECRETS, {"name": desired.username}, secret, f"secret {desired.username}")
        report.changes += [note] if note else []
        secret_written = note is not None

    queue: dict[str, str] | None = None
    queue_written = False
    if settings.speed_mode == "queue":
        queue = {
            "target": desired.address,
            "max-limit": _max_limit(desired),
            "disabled": "false",
            "comment": comment,
        }
        name = queue_name(settings, desired.username)
        if not (trust and cache is not None and cache.proven(QUEUES, name, queue)):
            note = _ensure(router, QUEUES, {"name": name}, queue, f"queue {name}")
            report.changes += [note] if note else []
            queue_written = note is not None

    entries = _suspension_entries(router, settings, desired.address, owner=comment)
    entry_added = False
    # Whether the entry must be read back: not when the router's own answer proves the state
    # (the print above found it as wanted, ``add`` returned the new entry's id, or the removes
    # below succeeded, with RouterOS' unique list+address rule keeping one entry per address).
    entry_unproven = False
    if desired.status == "suspended" and not entries:
        new_id = router.add(
            ADDRESS_LIST, {"list": settings.suspension_list, "address": desired.address, "comment": comment}
        )
        # None: someone added it between our print and add; read it back to be sure.
        entry_unproven = new_id is None
        entry_added = True
        report.changes.append(f"suspension entry {desired.address} added")
    elif desired.status == "suspended":
        report.changes += _remove_all(router, ADDRESS_LIST, entries[1:], "duplicate suspension entry")
    else:
        report.changes += _remove_all(router, ADDRESS_LIST, entries, f"suspension entry {desired.address}")

    sessions = router.print(ACTIVE, name=desired.username)
    if not replay:
        becomes_suspended = desired.status == "suspended" and (
            entry_added or previous is None or previous.status != "suspended"
        )
        if becomes_suspended or desired.kick:
            report.kicked = _sessions_kick(router, sessions)
            # The sessions printed were just removed; the router answered for each of them.
            sessions = []

    _verify(
        router,
        desired,
        settings,
        secret if secret_written else None,
        queue if queue_written else None,
        entry=entry_unproven,
    )
    if cache is not None:
        # Every item is now proven as wanted: found so by a print, or written and read back.
        cache.put(SECRETS, desired.username, secret)
        if queue is not None:
            cache.put(QUEUES, queue_name(settings, desired.username), queue)
    report.online = bool(sessions)
    return report


def _forget(cache: ItemCache | None, settings: ApplySettings, username: str) -> None:
    if cache is not None:
        cache.discard(SECRETS, username)
        cache.discard(QUEUES, queue_name(settings, username))


def _verify(
    router: Router,
    desired: DesiredService,
    settings: ApplySettings,
    secret: Mapping[str, str] | None,
    queue: Mapping[str, str] | None,
    *,
    entry: bool,
) -> None:
    """Reads back what was written (None / False: already proven); a router that did not keep
    it is a permanent error."""
    problems: list[str] = []
    if secret is not None:
        rows = router.print(SECRETS, name=desired.username)
        if not rows:
            problems.append(f"secret {desired.username} missing")
        elif diff := _mismatched(rows[0], secret):
            problems.append(f"secret {desired.username} differs in {', '.join(sorted(diff))}")
    if queue is not None:
        name = queue_name(settings, desired.username)
        rows = router.print(QUEUES, name=name)
        if not rows:
            problems.append(f"queue {name} missing")
        elif diff := _mismatched(rows[0], queue):
            problems.append(f"queue {name} differs in {', '.join(sorted(diff))}")
    if entry:
        listed = bool(_suspension_entries(router, settings, desired.address))
        if listed != (desired.status == "suspended"):
            problems.append(f"suspension entry for {desired.address} {'present' if listed else 'missing'}")
    if problems:
        raise RouterError(
            "read-back after applying: " + "; ".join(problems), permanent=True, router=router.name
        )


def _service_remove(
    router: Router, service: DesiredService, settings: ApplySettings, *, keep_address: str | None = None
) -> list[str]:
    """Removes everything the subscriber owns on the router and drops their session.

    Everything is looked up and its ownership checked before anything is removed, so a
    ForeignItem leaves the router as it was.
    """
    owner = comment_for(settings, service.subscription_id)
    secrets = router.print(SECRETS, name=service.username)
    _ensure_owned(router, SECRETS, secrets, owner)
    name = queue_name(settings, service.username)
    queues = router.print(QUEUES, name=name)
    _ensure_owned(router, QUEUES, queues, owner)
    entries: list[dict[str, str]] = []
    if keep_address is None or not _same_address(keep_address, service.address):
        entries = _suspension_entries(router, settings, service.address, owner=owner)
    changes = _remove_all(router, SECRETS, secrets, f"secret {service.username}")
    changes += _remove_all(router, QUEUES, queues, f"queue {name}")
    changes += _remove_all(router, ADDRESS_LIST, entries, f"suspension entry {service.address}")
    # Removing the secret already drops the session on RouterOS; this makes sure of it.
    if session_kick(router, service.username):
        changes.append(f"session of {service.username} dropped")
    return changes


def router_reconcile(
    router: Router,
    services: Iterable[DesiredService],
    settings: ApplySettings,
    *,
    remove_unknown: bool = False,
    cache: ItemCache | None = None,
) -> list[str]:
    """Repairs drift between ``router`` and the desired state last applied there.

    Terminated subscriptions are left alone (their username may belong to someone new by now).
    With ``remove_unknown``, managed items (comment ``<tag>:sub=N``) of subscriptions not in
    ``services`` are removed too. A subscription whose items are not Enlace's (ForeignItem) is
    logged and skipped. Returns what was repaired; raises RouterError.
    """
    repaired: list[str] = []
    known: dict[int, DesiredService] = {}
    for service in services:
        known[service.subscription_id] = service
        if service.status == "terminated":
            continue
        # replay: reads every item (the cache is not trusted) and refreshes the cache with it.
        try:
            report = service_apply(router, service, settings, previous=None, replay=True, cache=cache)
        except ForeignItem as exc:
            # One hand-made item must not keep every other subscriber of the router unrepaired.
            logger.warning(
                "%s: reconcile skipped sub %s: %s", router.name, service.subscription_id, exc.message
            )
            continue
        repaired += [f"sub {service.subscription_id}: {change}" for change in report.changes]
    if remove_unknown:
        repaired += _unknown_remove(router, known, settings)
        if cache is not None:
            cache.clear()  # unknown items were removed behind the cache's back
    return repaired


def _unknown_remove(
    router: Router, known: Mapping[int, DesiredService], settings: ApplySettings
) -> list[str]:
    prefix = f"{settings.tag}:sub="
    removed: list[str] = []
    for path in (SECRETS, QUEUES, ADDRESS_LIST):
        for row in router.print(path):
            comment = row.get("comment", "")
            if not comment.startswith(prefix):
                continue
            try:
                owner = known.get(int(comment[len(prefix) :]))
            except ValueError:
                continue
            if owner is None or owner.status == "terminated":
                label = row.get("name") or row.get("address") or row[".id"]
                if router.remove(path, row[".id"]):
                    removed.append(f"unknown {path} {label} ({comment}) removed")
    return removed


def session_diagnose(router: Router, username: str) -> Diagnosis:
    """The live PPP session of ``username``, if any. Raises RouterError."""
    rows = router.print(ACTIVE, name=username)
    if not rows:
        return Diagnosis(online=False)
    row = rows[0]
    return Diagnosis(
        online=True, address=row.get("address"), uptime=row.get("uptime"), caller_id=row.get("caller-id")
    )
