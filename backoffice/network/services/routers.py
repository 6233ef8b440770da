"""Writes of the routers: registering, changing, removing, reconciling, marking them seen."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict, DomainError
from backoffice.network.commands import SOURCE
from backoffice.network.models import Router, Service
from backoffice.network.secrets import router_password_seal
from backoffice.network.services.common import DB
from backoffice.network.services.validation import router_validate
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)

_ROUTER_FIELDS = (
    "host",
    "api_port",
    "api_ssl",
    "username",
    "password",
    "site",
    "description",
    "address_pool",
    "active",
)


def router_create(
    *,
    name: str,
    host: str,
    username: str,
    password: str = "",
    api_port: int = 8728,
    api_ssl: bool = False,
    site: str = "",
    description: str = "",
    address_pool: str = "",
    active: bool = True,
) -> Router:
    """Registers a router (its password sealed, see ``secrets``); raises Conflict when
    ``name`` is taken, DomainError for a bad port or pool."""
    valid = router_validate(api_port=api_port, address_pool=address_pool)
    with transaction.atomic(using=DB):
        if Router.objects.filter(name=name).exists():
            raise Conflict(_('A router named "%(name)s" already exists.') % {"name": name}, code="duplicate")
        return Router.objects.create(
            name=name,
            host=host,
            username=username,
            password=router_password_seal(password),
            api_port=valid["api_port"],
            api_ssl=api_ssl,
            site=site,
            description=description,
            address_pool=valid["address_pool"],
            active=active,
        )


def router_update(*, router: Router, **changes: object) -> Router:
    """Changes the given fields of ``router`` (its name never changes: it keys the netagent).

    A new password is sealed (see ``secrets``). Raises DomainError for a field that cannot be
    changed or a bad value.
    """
    unknown = set(changes) - set(_ROUTER_FIELDS)
    if unknown:
        raise DomainError(
            _("These router fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    changes.update(
        router_validate(
            api_port=changes.get("api_port"),  # type: ignore[arg-type]
            address_pool=str(changes["address_pool"] or "") if "address_pool" in changes else None,
        )
    )
    if "password" in changes:
        changes["password"] = router_password_seal(str(changes["password"] or ""))
    with transaction.atomic(using=DB):
        for field, value in changes.items():
            setattr(router, field, value)
        router.save()
    return router


def router_delete(*, router: Router) -> None:
    """Removes a router; raises Conflict while services still refer to it."""
    with transaction.atomic(using=DB):
        if Service.objects.filter(router=router).exists():
            raise Conflict(
                _('Router "%(name)s" still has services; move or terminate them, or deactivate it.')
                % {"name": router.name},
                code="router_in_use",
            )
        router.delete()


def router_reconcile_request(*, router: Router) -> Envelope:
    """Asks the netagent to compare ``router`` with the desired state and repair drift."""
    envelope = Envelope.new(type="network.router.reconcile", data={"router": router.name}, source=SOURCE)
    with transaction.atomic(using=DB):
        outbox_put(using=DB, topic=catalog.NETWORK_COMMANDS, key=router.name, envelope=envelope)
    return envelope


def router_reconciled(*, router_name: str, now: datetime) -> Router | None:
    """Records that the netagent reconciled ``router_name`` (and so reached it)."""
    with transaction.atomic(using=DB):
        router = Router.objects.select_for_update().filter(name=router_name).first()
        if router is None:
            logger.warning("reconciliation reported for unknown router %s", router_name)
            return None
        router.last_reconciled_at = now
        router.last_seen_at = now
        router.is_up = True
        router.save(update_fields=["last_reconciled_at", "last_seen_at", "is_up", "updated_at"])
        return router


# How stale ``Router.last_seen_at`` may get while results keep arriving.
ROUTER_SEEN_RESOLUTION = timedelta(seconds=5)


def router_seen(router_name: str, now: datetime) -> None:
    """Marks the router up and seen at ``now``, at most once per ``ROUTER_SEEN_RESOLUTION``.

    Every result used to update the router row, and ``service_create`` locks that row to
    allocate addresses, so provisioning and results waited on each other (and, with the
    results consumer committing a batch at once, would wait for a whole batch). A row whose
    timestamp is recent does not match the WHERE, and PostgreSQL neither writes nor locks it.
    """
    Router.objects.filter(name=router_name).filter(
        Q(last_seen_at=None) | Q(last_seen_at__lt=now - ROUTER_SEEN_RESOLUTION) | ~Q(is_up=True)
    ).update(last_seen_at=now, is_up=True)
