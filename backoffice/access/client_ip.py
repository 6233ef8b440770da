"""The client's IP address, believing ``X-Forwarded-For`` only as far as trusted proxies vouch for it.

``ENLACE_TRUSTED_PROXIES`` lists addresses or networks (CIDR: ``10.0.0.0/8``, ``::1``). A proxy
appends the address it received the request from to ``X-Forwarded-For``, so the header is only
as trustworthy as the hop that wrote each entry: walking from the right, every entry written by
a trusted proxy is believed, and the first one that is not a trusted proxy is the client.
Anything further left was written by the client itself and may be forged.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"ENLACE_TRUSTED_PROXIES: {entry!r} is neither an IP address nor a network (CIDR)"
            ) from None
    return tuple(networks)


def trusted_proxies() -> tuple[Network, ...]:
    """The networks of ``ENLACE_TRUSTED_PROXIES``; raises ImproperlyConfigured naming a bad entry."""
    entries: Iterable[str] = getattr(settings, "ENLACE_TRUSTED_PROXIES", ["127.0.0.1"])
    return _networks(tuple(entries))


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # An IPv4 peer seen on a dual-stack socket (::ffff:10.0.0.5) is the IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The address of whoever sent the request, as far as trusted proxies can tell.

    ``REMOTE_ADDR`` when the peer is not a trusted proxy (its ``X-Forwarded-For`` is ignored
    entirely); otherwise the rightmost ``X-Forwarded-For`` entry that is not a trusted proxy.
    When every entry is a trusted proxy the leftmost is the client; an entry that is not an IP
    address stops the walk (nobody trusted wrote it) and the last trusted hop is the client.
    """
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return None
    networks = trusted_proxies()
    client = remote
    if not _is_trusted(remote, networks):
        return str(client)
    entries = [entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    for entry in reversed(entries):
        hop = _address(entry)
        if hop is None:
            break
        client = hop
        if not _is_trusted(hop, networks):
            break
    return str(client)
