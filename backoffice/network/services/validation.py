"""Validation shared by the API and the consumers: speeds, addresses, address pools, reasons."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django.utils.translation import gettext as _

from backoffice.access.errors import DomainError
from backoffice.network.models import SuspensionReason

# Same rule as the message schema, but without a zero rate: "20M", "512k", "1G", "2000000".
SPEED_RE = re.compile(r"^[1-9][0-9]*[kMG]?$")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def validate_speed(value: str, *, field: str) -> str:
    """Returns ``value`` when it is a RouterOS rate like "20M"; raises DomainError otherwise."""
    if not SPEED_RE.match(value or ""):
        raise DomainError(
            _('%(field)s "%(value)s" is not a speed: use a number with k, M or G, e.g. "20M".')
            % {"field": field, "value": value},
            code="invalid_speed",
        )
    return value


def validate_address(value: str) -> str:
    """Returns ``value`` normalised when it is a unicast IPv4 host address; raises DomainError."""
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise DomainError(
            _('"%(value)s" is not a valid IPv4 address.') % {"value": value}, code="invalid_address"
        ) from None
    if address.is_multicast or address.is_unspecified or address.is_loopback or address == _BROADCAST:
        raise DomainError(
            _('"%(value)s" cannot be given to a subscriber.') % {"value": value}, code="invalid_address"
        )
    return str(address)


def validate_pool(value: str) -> str:
    """Returns ``value`` normalised when it is an IPv4 network in CIDR form (or empty)."""
    if not value:
        return ""
    try:
        return str(ipaddress.IPv4Network(value, strict=False))
    except ValueError:
        raise DomainError(
            _('"%(value)s" is not an IPv4 network such as 10.20.0.0/24.') % {"value": value},
            code="invalid_pool",
        ) from None


def router_validate(*, api_port: int | None = None, address_pool: str | None = None) -> dict[str, Any]:
    """The given router values normalised; raises DomainError naming the first bad one.

    What the API's serializer and the admin's form both rely on, so neither lets through
    what the other refuses.
    """
    values: dict[str, Any] = {}
    if api_port is not None:
        if not 1 <= int(api_port) <= 65535:
            raise DomainError(
                _("The API port must be between 1 and 65535, not %(port)s.") % {"port": api_port},
                code="invalid_port",
            )
        values["api_port"] = int(api_port)
    if address_pool is not None:
        values["address_pool"] = validate_pool(address_pool)
    return values


def ensure_suspension_reason(reason: str) -> None:
    """Raises DomainError unless ``reason`` is a :class:`SuspensionReason` value."""
    if reason not in SuspensionReason.values:
        raise DomainError(
            _('"%(reason)s" is not a suspension reason; use one of: %(choices)s.')
            % {"reason": reason, "choices": ", ".join(SuspensionReason.values)},
            code="invalid_reason",
        )
