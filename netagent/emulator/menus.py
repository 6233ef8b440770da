"""The menus the emulator knows: their properties, commands and uniqueness rules.

Adding a RouterOS menu to the emulator means adding its :class:`MenuSpec` to :data:`MENUS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from netagent.emulator import values


@dataclass(frozen=True)
class FieldSpec:
    """One property of a menu item.

    ``default`` None means the property is not printed until it is set
    (RouterOS omits unset optional properties); ``writable`` False means the
    API cannot set it (clients get ``unknown parameter``).
    """

    name: str
    default: str | None = None
    normalize: values.Normalizer | None = None
    required: bool = False
    writable: bool = True


@dataclass(frozen=True)
class MenuSpec:
    """A list menu: its properties (in print order), commands and uniqueness rule."""

    path: str
    fields: tuple[FieldSpec, ...]
    commands: frozenset[str]
    unique: tuple[str, ...] = ()
    duplicate_message: str = "failure: already have such name"
    has_disabled: bool = True

    def field(self, name: str) -> FieldSpec | None:
        """The spec of property ``name`` or None."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None


_LIST_COMMANDS = frozenset({"print", "getall", "add", "set", "remove", "unset", "enable", "disable"})
_B = values.boolean

MENUS: dict[str, MenuSpec] = {
    spec.path: spec
    for spec in (
        MenuSpec(
            "/ppp/secret",
            (
                FieldSpec("name", required=True),
                FieldSpec("service", "any"),
                FieldSpec("caller-id", ""),
                FieldSpec("password", ""),
                FieldSpec("profile", "default"),
                FieldSpec("local-address", normalize=values.ip_address),
                FieldSpec("remote-address", normalize=values.ip_address),
                FieldSpec("routes", ""),
                FieldSpec("ipv6-routes", ""),
                FieldSpec("limit-bytes-in", "0"),
                FieldSpec("limit-bytes-out", "0"),
                FieldSpec("disabled", "false", _B),
                FieldSpec("comment"),
            ),
            _LIST_COMMANDS,
            unique=("name",),
            duplicate_message="failure: secret with the same name already exists",
        ),
        MenuSpec(
            "/ppp/profile",
            (
                FieldSpec("name", required=True),
                FieldSpec("local-address", normalize=values.ip_or_pool),
                FieldSpec("remote-address", normalize=values.ip_or_pool),
                FieldSpec("bridge"),
                FieldSpec("dns-server"),
                FieldSpec("rate-limit", normalize=values.rate_limit),
                FieldSpec("address-list", ""),
                FieldSpec("incoming-filter"),
                FieldSpec("outgoing-filter"),
                FieldSpec("only-one", "default"),
                FieldSpec("change-tcp-mss", "default"),
                FieldSpec("use-compression", "default"),
                FieldSpec("use-encryption", "default"),
                FieldSpec("use-mpls", "default"),
                FieldSpec("use-upnp", "default"),
                FieldSpec("on-up", ""),
                FieldSpec("on-down", ""),
                FieldSpec("default", "false", writable=False),
                FieldSpec("comment"),
            ),
            _LIST_COMMANDS - {"enable", "disable"},
            unique=("name",),
            has_disabled=False,
        ),
        MenuSpec(
            "/ppp/active",
            (
                FieldSpec("name", writable=False),
                FieldSpec("service", writable=False),
                FieldSpec("caller-id", writable=False),
                FieldSpec("encoding", "", writable=False),
                FieldSpec("address", writable=False),
                FieldSpec("uptime", writable=False),
                FieldSpec("session-id", writable=False),
                FieldSpec("limit-bytes-in", "0", writable=False),
                FieldSpec("limit-bytes-out", "0", writable=False),
                FieldSpec("radius", "false", writable=False),
                FieldSpec("comment"),
            ),
            frozenset({"print", "getall", "remove"}),
            has_disabled=False,
        ),
        MenuSpec(
            "/queue/simple",
            (
                FieldSpec("name"),
                FieldSpec("target", required=True, normalize=values.targets),
                FieldSpec("parent", "none"),
                FieldSpec("packet-marks", ""),
                FieldSpec("priority", "8/8", values.simple_pair),
                FieldSpec("queue", "default-small/default-small", values.simple_pair),
                FieldSpec("limit-at", "0/0", values.rate_pair),
                FieldSpec("max-limit", "0/0", values.rate_pair),
                FieldSpec("burst-limit", "0/0", values.rate_pair),
                FieldSpec("burst-threshold", "0/0", values.rate_pair),
                FieldSpec("burst-time", "0s/0s", values.simple_pair),
                FieldSpec("bucket-size", "0.1/0.1", values.simple_pair),
                FieldSpec("invalid", "false", writable=False),
                FieldSpec("dynamic", "false", writable=False),
                FieldSpec("disabled", "false", _B),
                FieldSpec("comment"),
            ),
            _LIST_COMMANDS,
            unique=("name",),
        ),
        MenuSpec(
            "/ip/firewall/address-list",
            (
                FieldSpec("list", required=True),
                FieldSpec("address", required=True, normalize=values.address_list_address),
                FieldSpec("timeout"),
                FieldSpec("creation-time", writable=False),
                FieldSpec("dynamic", "false", writable=False),
                FieldSpec("disabled", "false", _B),
                FieldSpec("comment"),
            ),
            _LIST_COMMANDS,
            unique=("list", "address"),
            duplicate_message="failure: already have such entry",
        ),
    )
}

# Menus that hold exactly one unnamed object (no .id); value: commands.
SINGLETON_MENUS: dict[str, frozenset[str]] = {
    "/system/identity": frozenset({"print", "getall", "set"}),
    "/system/resource": frozenset({"print", "getall"}),
}

# Print arguments RouterOS accepts and the emulator tolerates (most are display-only).
PRINT_ARGS = frozenset(
    {".proplist", "count-only", "detail", "terse", "without-paging", "stats", "brief", "follow", "oid"}
)

# Every directory on the way to a known menu ("/ppp", "/ip/firewall", ...).
KNOWN_PREFIXES = frozenset(
    "/" + "/".join(p.strip("/").split("/")[: i + 1])
    for p in (*MENUS, *SINGLETON_MENUS)
    for i in range(p.strip("/").count("/") + 1)
)


@dataclass
class Item:
    """One item of a list menu: its internal id and properties."""

    id: int
    props: dict[str, str]
    # Monotonic time a PPP session came up (only for /ppp/active).
    connected_at: float | None = None
    # Position in its table (print order), set when the item is inserted.
    seq: int = 0
