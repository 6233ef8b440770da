"""What the network's write functions share: the database, row locks, the conflict guards,
saving a service, and the router and address checks."""

from __future__ import annotations

import ipaddress
import uuid

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict
from backoffice.databases import service_db
from backoffice.network.models import Router, Service, ServiceStatus

DB = service_db("network")


def ensure_not_terminated(service: Service, *, refusal: str) -> None:
    """Raises Conflict (code ``terminated``) when ``service`` is terminated.

    ``refusal`` is the translated message, with ``%(id)s`` for the subscription: it says what
    cannot be done to a terminated service.
    """
    if service.status == ServiceStatus.TERMINATED:
        raise Conflict(refusal % {"id": service.subscription_id}, code="terminated")


def ensure_router_active(router: Router) -> None:
    """Raises Conflict (code ``router_inactive``) when ``router`` takes no new services."""
    if not router.active:
        raise Conflict(_('Router "%(name)s" is not active.') % {"name": router.name}, code="router_inactive")


def lock(service: Service) -> Service:
    """A fresh copy of ``service`` locked until the transaction ends.

    Billing, the clients consumer and staff may change the same service at once; the row
    lock serialises them so each revision is bumped from the latest one.
    """
    return Service.objects.select_for_update(of=("self",)).select_related("router").get(pk=service.pk)


def locked_by_subscription(subscription_id: int) -> Service | None:
    return (
        Service.objects.select_for_update(of=("self",))
        .select_related("router")
        .filter(subscription_id=subscription_id)
        .first()
    )


def lock_router(router: Router) -> Router:
    # Serialises address allocation on a router.
    return Router.objects.select_for_update().get(pk=router.pk)


def live_on(router: Router, exclude: Service | None) -> QuerySet[Service]:
    services = Service.objects.filter(router=router).exclude(status=ServiceStatus.TERMINATED)
    if exclude is not None:
        services = services.exclude(pk=exclude.pk)
    return services


def ensure_username_free(router: Router, username: str, *, exclude: Service | None = None) -> None:
    if live_on(router, exclude).filter(pppoe_username=username).exists():
        raise Conflict(
            _('The PPPoE user "%(username)s" is already used on router "%(router)s".')
            % {"username": username, "router": router.name},
            code="duplicate_username",
        )


def ensure_address_free(router: Router, address: str, *, exclude: Service | None = None) -> None:
    if live_on(router, exclude).filter(address=address).exists():
        raise Conflict(
            _('The address %(address)s is already used on router "%(router)s".')
            % {"address": address, "router": router.name},
            code="duplicate_address",
        )


def address_fits(router: Router, address: str) -> bool:
    if not router.address_pool:
        return True
    return ipaddress.IPv4Address(address) in ipaddress.IPv4Network(router.address_pool)


def allocate_address(router: Router, *, exclude: Service | None = None) -> str:
    """The lowest free host address of the router's pool (the router row is locked)."""
    if not router.address_pool:
        raise Conflict(
            _('Router "%(name)s" has no address pool; give the address explicitly.') % {"name": router.name},
            code="no_address_pool",
        )
    network = ipaddress.IPv4Network(router.address_pool)
    used = set(live_on(router, exclude).values_list("address", flat=True))
    # The first host is usually the router's own gateway address.
    hosts = list(network.hosts())[1:] if network.num_addresses > 4 else list(network.hosts())
    for host in hosts:
        if str(host) not in used:
            return str(host)
    raise Conflict(
        _('The address pool of router "%(name)s" is exhausted.') % {"name": router.name},
        code="pool_exhausted",
    )


def save_new(service: Service) -> None:
    try:
        # A savepoint, so a concurrent duplicate leaves the outer transaction usable.
        with transaction.atomic(using=DB):
            service.save()
    except IntegrityError as exc:
        raise Conflict(
            _("Another service took this subscription, user name or address meanwhile; try again."),
            code="duplicate",
        ) from exc


def save(service: Service) -> None:
    try:
        with transaction.atomic(using=DB):
            service.save()
    except IntegrityError as exc:
        raise Conflict(
            _("Another service took this user name or address meanwhile; try again."), code="duplicate"
        ) from exc


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# How stale ``Router.last_seen_at`` may get while results keep arriving.
