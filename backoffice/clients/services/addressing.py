"""Router address pools, and the PPPoE user name and address a subscription gets on a router."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict
from backoffice.clients.models import (
    Client,
    RouterPool,
    Subscription,
    SubscriptionStatus,
)
from backoffice.clients.services.common import DB

# --- router pools ------------------------------------------------------------------------------------


def router_pool_set(*, router: str, network: str) -> RouterPool:
    """Declares (or changes) the address pool of ``router``; raises ValidationError for a bad CIDR."""
    try:
        normalised = str(ipaddress.IPv4Network(network, strict=False))
    except ValueError:
        raise ValidationError(
            {"network": [_('"%(value)s" is not an IPv4 network such as 10.20.0.0/24.') % {"value": network}]}
        ) from None
    with transaction.atomic(using=DB):
        pool, _created = RouterPool.objects.update_or_create(router=router, defaults={"network": normalised})
    return pool


# --- subscriptions -------------------------------------------------------------------------------------


def _pool_locked(router: str) -> RouterPool:
    # Locking the pool row serialises address allocation on that router.
    pool = RouterPool.objects.select_for_update().filter(router=router).first()
    if pool is None:
        raise ValidationError(
            {"router": [_('Router "%(router)s" is not known to the clients service.') % {"router": router}]}
        )
    return pool


def _live_on(router: str, exclude: Subscription | None) -> Any:
    live = Subscription.objects.filter(router=router, status=SubscriptionStatus.ACTIVE)
    return live.exclude(pk=exclude.pk) if exclude is not None else live


def _address_for(pool: RouterPool, address: str | None, *, exclude: Subscription | None = None) -> str:
    network = ipaddress.IPv4Network(pool.network)
    used = set(_live_on(pool.router, exclude).exclude(address=None).values_list("address", flat=True))
    if address:
        try:
            wanted = ipaddress.IPv4Address(address)
        except ValueError:
            raise ValidationError(
                {"address": [_('"%(value)s" is not an IPv4 address.') % {"value": address}]}
            ) from None
        if wanted.is_multicast or wanted.is_loopback or wanted.is_unspecified:
            raise ValidationError({"address": [_("This address cannot be given to a subscriber.")]})
        if str(wanted) in used:
            raise ValidationError(
                {
                    "address": [
                        _("The address %(address)s is already used on router %(router)s.")
                        % {"address": wanted, "router": pool.router}
                    ]
                }
            )
        return str(wanted)
    # The first host of the pool is the router's own gateway address.
    hosts = network.hosts()
    next(hosts, None)
    for host in hosts:
        if str(host) not in used:
            return str(host)
    raise Conflict(
        _("The address pool of router %(router)s is exhausted.") % {"router": pool.router},
        code="pool_exhausted",
    )


def _username_for(client: Client, router: str, wanted: str | None) -> str:
    live = _live_on(router, None)
    if wanted:
        if not re.match(r"^[A-Za-z0-9._@-]{3,64}$", wanted):
            raise ValidationError(
                {"pppoe_username": [_("A PPPoE user has 3 to 64 letters, digits, dots, dashes or @.")]}
            )
        if live.filter(pppoe_username=wanted).exists():
            raise ValidationError(
                {
                    "pppoe_username": [
                        _('The PPPoE user "%(user)s" is already used on router %(router)s.')
                        % {"user": wanted, "router": router}
                    ]
                }
            )
        return wanted
    base = f"cli{client.pk:05d}"
    taken = set(live.filter(pppoe_username__startswith=base).values_list("pppoe_username", flat=True))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
