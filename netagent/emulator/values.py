"""Value normalisation: how RouterOS stores and prints what it is given.

Each normaliser takes the text a client sent and returns the text RouterOS
would print, or raises ``ValueError`` when RouterOS would reject it (the
caller turns that into ``invalid value for argument <name>``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

__all__ = [
    "Normalizer",
    "address_list_address",
    "boolean",
    "format_uptime",
    "ip_address",
    "ip_or_pool",
    "rate",
    "rate_limit",
    "rate_pair",
    "simple_pair",
    "targets",
]

Normalizer = Callable[[str], str]

_RATE_RE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
_DNS_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")


def boolean(value: str) -> str:
    """``yes``/``true`` → ``true``, ``no``/``false`` → ``false`` (RouterOS 7 API prints true/false)."""
    lowered = value.lower()
    if lowered in ("yes", "true"):
        return "true"
    if lowered in ("no", "false"):
        return "false"
    raise ValueError(value)


def rate(value: str) -> str:
    """A bit rate with optional k/M/G suffix (powers of 1000) → plain bits per second."""
    match = _RATE_RE.match(value.strip())
    if not match:
        raise ValueError(value)
    number, suffix = match.groups()
    return str(int(float(number) * _MULTIPLIERS[suffix.lower()]))


def simple_pair(value: str) -> str:
    """``a`` → ``a/a``; ``a/b`` kept (used for queue priority, queue types, burst time)."""
    parts = value.split("/")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(parts):
        raise ValueError(value)
    return "/".join(parts)


def rate_pair(value: str) -> str:
    """Upload/download rate pair: ``10M/5M`` → ``10000000/5000000``; ``10M`` → both sides."""
    parts = value.split("/")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise ValueError(value)
    return "/".join(rate(part) for part in parts)


def rate_limit(value: str) -> str:
    """A PPP ``rate-limit`` string; rate groups are normalised, times and priority kept.

    Format: ``rx[/tx] [burst-rx[/tx] [threshold-rx[/tx] [time-rx[/tx] [priority [min-rx[/tx]]]]]]``.
    """
    groups = value.split()
    if not groups or len(groups) > 6:
        raise ValueError(value)
    out: list[str] = []
    for index, group in enumerate(groups):
        if index in (0, 1, 2, 5):
            out.append("/".join(rate(part) for part in group.split("/")))
        else:
            out.append(group)
    return " ".join(out)


def targets(value: str) -> str:
    """Queue ``target``: comma list; a bare host becomes ``/32`` (``/128`` for IPv6).

    Networks are printed in canonical form; non-IP entries (interface names) are kept.
    """
    out: list[str] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            raise ValueError(value)
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            if not re.match(r"^[\w.\-<>]+$", part) or part[0].isdigit():
                raise
            out.append(part)
    return ",".join(out)


def ip_address(value: str) -> str:
    """A single IPv4/IPv6 address, printed canonically."""
    return str(ipaddress.ip_address(value))


def ip_or_pool(value: str) -> str:
    """An address or an IP pool name (PPP profile local/remote-address); kept as given."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        if not re.match(r"^[\w.\-]+$", value):
            raise
        return value


def address_list_address(value: str) -> str:
    """Address-list ``address``: host, network, range or DNS name, kept exactly as given."""
    text = value.strip()
    if "-" in text and text.count("-") == 1 and not _DNS_RE.match(text):
        low, high = text.split("-")
        ipaddress.ip_address(low)
        ipaddress.ip_address(high)
        return value
    try:
        ipaddress.ip_network(text, strict=False)
        return value
    except ValueError:
        if _DNS_RE.match(text) and not text.replace(".", "").isdigit():
            return value
        raise


def format_uptime(seconds: float) -> str:
    """RouterOS duration format: ``1w2d3h4m5s`` with zero parts omitted (``0s`` for zero)."""
    remaining = int(seconds)
    parts: list[str] = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    if remaining or not parts:
        parts.append(f"{remaining}s")
    return "".join(parts)
