"""Writes of the clients service: clients, plans, subscriptions, contract acceptance.

Every write runs in ``transaction.atomic(using="clients")`` and writes its
``clients.client.*`` / ``clients.subscription.*`` event to the outbox in that transaction
(key: the client id, so a client's events stay in order). Rendering the contract is queued
on commit (Celery, :mod:`backoffice.clients.tasks`). Field problems raise Django's
ValidationError keyed by field (a 400 naming the field); others raise the domain errors of
:mod:`backoffice.access.errors`. ``now`` is passed in by the caller.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict, DomainError
from backoffice.clients import events, tasks
from backoffice.clients.identification import RUC, identification_validate, ruc_kind
from backoffice.clients.models import (
    Client,
    ClientKind,
    ClientStatus,
    ContractAcceptance,
    ContractDocument,
    Plan,
    PlanChange,
    PlanPrice,
    RouterPool,
    Subscription,
    SubscriptionStatus,
)
from backoffice.databases import service_db
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)

DB = service_db("clients")

SPEED_RE = re.compile(r"^[1-9][0-9]*[kMG]?$")
CENT = Decimal("0.01")
_CLIENT_FIELDS = (
    "kind",
    "name",
    "identification_type",
    "identification",
    "email",
    "billing_email",
    "phone",
    "address",
    "city",
    "latitude",
    "longitude",
    "language",
    "status",
)
_PLAN_FIELDS = ("name", "download", "upload", "term_months", "active")
_PRICE_FIELDS = ("monthly_price", "tax_rate", "installation_fee")


def _publish(client_id: int, envelope: Envelope) -> None:
    outbox_put(using=DB, topic=catalog.CLIENTS_EVENTS, key=str(client_id), envelope=envelope)


def _render_contracts_on_commit(subscription_ids: list[int]) -> None:
    """Queues a contract render for each subscription once the change is committed.

    The task renders a new version only when what the contract shows has changed, so asking
    too often costs a comparison, never a duplicate version.
    """
    if not subscription_ids:
        return
    transaction.on_commit(lambda: tasks.contracts_render_queue(subscription_ids), using=DB)


def next_billing_date(billing_day: int, on_or_after: date) -> date:
    """The first date on or after ``on_or_after`` that falls on ``billing_day`` (1-28)."""
    if on_or_after.day <= billing_day:
        return on_or_after.replace(day=billing_day)
    year, month = (
        (on_or_after.year + 1, 1) if on_or_after.month == 12 else (on_or_after.year, on_or_after.month + 1)
    )
    return date(year, month, billing_day)


# --- clients ---------------------------------------------------------------------------------------


def _clean_identification(kind: str, identification_type: str, identification: str) -> str:
    try:
        value = identification_validate(kind=identification_type, value=identification)
    except DomainError as exc:
        raise ValidationError({"identification": [exc.message]}) from None
    if kind == ClientKind.COMPANY and (identification_type != RUC or ruc_kind(value) == "person"):
        raise ValidationError(
            {"identification": [_("A company is identified by its company RUC (third digit 6 or 9).")]}
        )
    return value


def _ensure_identification_free(identification: str, *, exclude: Client | None = None) -> None:
    holder = Client.objects.filter(identification=identification)
    if exclude is not None:
        holder = holder.exclude(pk=exclude.pk)
    other = holder.first()
    if other is not None:
        raise ValidationError(
            {
                "identification": [
                    _("This identification already belongs to client %(id)s (%(name)s).")
                    % {"id": other.pk, "name": other.name}
                ]
            },
            code="duplicate",
        )


def _clean_coordinates(latitude: Decimal | None, longitude: Decimal | None) -> None:
    if (latitude is None) != (longitude is None):
        raise ValidationError({"latitude": [_("Give both latitude and longitude, or neither.")]})
    if latitude is not None and not Decimal(-90) <= latitude <= Decimal(90):
        raise ValidationError({"latitude": [_("A latitude is between -90 and 90.")]})
    if longitude is not None and not Decimal(-180) <= longitude <= Decimal(180):
        raise ValidationError({"longitude": [_("A longitude is between -180 and 180.")]})


def client_create(
    *,
    name: str,
    identification_type: str,
    identification: str,
    now: datetime,
    kind: str = ClientKind.PERSON,
    email: str = "",
    billing_email: str = "",
    phone: str = "",
    address: str = "",
    city: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    language: str = "es",
    status: str = ClientStatus.PROSPECT,
    client_id: int | None = None,
) -> Client:
    """Registers a client and publishes ``clients.client.created`` (identity then opens the
    subscriber's account when there is an e-mail). Raises ValidationError per field, naming
    the client that already holds a duplicate identification. ``client_id`` is for demo data.
    """
    identification = _clean_identification(kind, identification_type, identification)
    _clean_coordinates(latitude, longitude)
    if not name.strip():
        raise ValidationError({"name": [_("The client's name cannot be empty.")]})
    with transaction.atomic(using=DB):
        _ensure_identification_free(identification)
        client = Client(
            id=client_id,
            kind=kind,
            name=name.strip(),
            identification_type=identification_type,
            identification=identification,
            email=email.strip().lower(),
            billing_email=billing_email.strip().lower(),
            phone=phone,
            address=address,
            city=city,
            latitude=latitude,
            longitude=longitude,
            language=language,
            status=status,
            created_at=now,
            updated_at=now,
        )
        _save_unique(client)
        _publish(client.pk, events.client_event(client, created=True))
    return client


def client_update(*, client: Client, now: datetime, **changes: Any) -> Client:
    """Changes the given fields and publishes ``clients.client.updated``; the contracts of the
    client's active subscriptions are rendered again if what they show changed. Nothing
    changed → nothing published. Raises ValidationError per field."""
    unknown = set(changes) - set(_CLIENT_FIELDS)
    if unknown:
        raise DomainError(
            _("These client fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    with transaction.atomic(using=DB):
        client = Client.objects.select_for_update().get(pk=client.pk)
        merged = {field: changes.get(field, getattr(client, field)) for field in _CLIENT_FIELDS}
        if {"kind", "identification_type", "identification"} & set(changes):
            merged["identification"] = _clean_identification(
                merged["kind"], merged["identification_type"], merged["identification"]
            )
            _ensure_identification_free(merged["identification"], exclude=client)
        _clean_coordinates(merged["latitude"], merged["longitude"])
        for field in ("email", "billing_email"):
            merged[field] = (merged[field] or "").strip().lower()
        changed = [field for field in _CLIENT_FIELDS if getattr(client, field) != merged[field]]
        if not changed:
            return client
        for field in changed:
            setattr(client, field, merged[field])
        client.updated_at = now
        _save_unique(client)
        _publish(client.pk, events.client_event(client, created=False))
        _render_contracts_on_commit(
            list(client.subscriptions.filter(status=SubscriptionStatus.ACTIVE).values_list("pk", flat=True))
        )
    return client


def _save_unique(client: Client) -> None:
    try:
        with transaction.atomic(using=DB):
            client.save()
    except IntegrityError as exc:
        # Another request registered the same identification between our check and our insert.
        raise ValidationError(
            {"identification": [_("Another client was registered with this identification meanwhile.")]}
        ) from exc


# --- plans ---------------------------------------------------------------------------------------------


def _clean_plan_values(values: dict[str, Any]) -> None:
    for field in ("download", "upload"):
        if field in values and not SPEED_RE.match(str(values[field] or "")):
            raise ValidationError({field: [_('Not a speed: use a number with k, M or G, e.g. "20M".')]})
    for field in ("monthly_price", "installation_fee"):
        if field in values:
            if values[field] < 0:
                raise ValidationError({field: [_("An amount cannot be negative.")]})
            values[field] = Decimal(values[field]).quantize(CENT)
    if "tax_rate" in values and not Decimal(0) <= values["tax_rate"] <= Decimal(1):
        raise ValidationError({"tax_rate": [_("A tax rate is between 0 and 1 (0.15 is 15 %).")]})
    if "term_months" in values and not 0 <= int(values["term_months"]) <= 120:
        raise ValidationError({"term_months": [_("A contract term is between 0 and 120 months.")]})


def plan_create(
    *,
    code: str,
    name: str,
    download: str,
    upload: str,
    monthly_price: Decimal,
    now: datetime,
    tax_rate: Decimal = Decimal("0.15"),
    installation_fee: Decimal = Decimal("0.00"),
    term_months: int = 12,
    active: bool = True,
) -> Plan:
    """Creates a plan with its first price (from today on); raises ValidationError per field."""
    values: dict[str, Any] = {
        "download": download,
        "upload": upload,
        "monthly_price": monthly_price,
        "installation_fee": installation_fee,
        "tax_rate": tax_rate,
        "term_months": term_months,
    }
    _clean_plan_values(values)
    with transaction.atomic(using=DB):
        if Plan.objects.filter(code=code).exists():
            raise ValidationError(
                {"code": [_('A plan with code "%(code)s" already exists.') % {"code": code}]}
            )
        plan = Plan.objects.create(
            code=code, name=name, active=active, created_at=now, updated_at=now, **values
        )
        PlanPrice.objects.create(
            plan=plan,
            monthly_price=plan.monthly_price,
            tax_rate=plan.tax_rate,
            installation_fee=plan.installation_fee,
            effective_from=timezone.localdate(now),
            created_at=now,
        )
    return plan


def plan_update(
    *, plan: Plan, now: datetime, price_effective_from: date | None = None, **changes: Any
) -> Plan:
    """Changes a plan. A new price is recorded from ``price_effective_from`` (default today) and
    reaches each active subscription from its first billing date on or after that day, so a
    period already begun keeps its price; a speed change reaches the routers at once. Each
    active subscription gets a ``clients.subscription.plan_changed`` saying from when."""
    unknown = set(changes) - set(_PLAN_FIELDS) - set(_PRICE_FIELDS)
    if unknown:
        raise DomainError(
            _("These plan fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    _clean_plan_values(changes)
    today = timezone.localdate(now)
    effective_from = price_effective_from or today
    if effective_from < today:
        raise ValidationError({"price_effective_from": [_("A new price cannot apply to the past.")]})
    with transaction.atomic(using=DB):
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        changed = [field for field, value in changes.items() if getattr(plan, field) != value]
        if not changed:
            return plan
        for field in changed:
            setattr(plan, field, changes[field])
        plan.updated_at = now
        plan.save()
        price_changed = bool(set(changed) & set(_PRICE_FIELDS))
        if price_changed:
            PlanPrice.objects.update_or_create(
                plan=plan,
                effective_from=effective_from,
                defaults={
                    "monthly_price": plan.monthly_price,
                    "tax_rate": plan.tax_rate,
                    "installation_fee": plan.installation_fee,
                    "created_at": now,
                },
            )
        if price_changed or {"download", "upload", "name"} & set(changed):
            subscriptions = list(
                Subscription.objects.select_related("plan").filter(
                    plan=plan, status=SubscriptionStatus.ACTIVE
                )
            )
            for subscription in subscriptions:
                subscription.plan = plan
                when = next_billing_date(subscription.billing_day, effective_from) if price_changed else today
                _publish(
                    subscription.client_id,
                    events.subscription_plan_changed(subscription, effective_date=when),
                )
            _render_contracts_on_commit([s.pk for s in subscriptions])
    return plan


def plan_price_on(*, plan: Plan, day: date) -> PlanPrice | None:
    """The price of ``plan`` that applies on ``day`` (None before the plan existed)."""
    return plan.prices.filter(effective_from__lte=day).order_by("-effective_from", "-id").first()


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


def subscription_create(
    *,
    client: Client,
    plan: Plan,
    router: str,
    billing_day: int,
    start_date: date,
    now: datetime,
    address: str | None = None,
    pppoe_username: str | None = None,
    pppoe_password: str | None = None,
    subscription_id: int | None = None,
) -> Subscription:
    """Puts ``client`` on ``plan`` on ``router``: a PPPoE user (generated unless given, unique
    on the router), a password (generated unless given) and an address (the given one, or the
    next free one of the router's pool). Publishes ``clients.subscription.created`` (the
    network provisions from it), activates a prospect client and queues the contract.
    ``subscription_id`` is for demo data. Raises ValidationError per field.
    """
    if not 1 <= billing_day <= 28:
        raise ValidationError({"billing_day": [_("The billing day is between 1 and 28.")]})
    if not plan.active:
        raise ValidationError({"plan": [_('Plan "%(code)s" is no longer offered.') % {"code": plan.code}]})
    with transaction.atomic(using=DB):
        client = Client.objects.select_for_update().get(pk=client.pk)
        if client.status == ClientStatus.RETIRED:
            raise Conflict(_("Client %(id)s is retired.") % {"id": client.pk}, code="client_retired")
        pool = _pool_locked(router)
        subscription = Subscription(
            id=subscription_id,
            client=client,
            plan=plan,
            router=router,
            pppoe_username=_username_for(client, router, pppoe_username),
            pppoe_password=pppoe_password or secrets.token_urlsafe(9),
            address=_address_for(pool, address),
            billing_day=billing_day,
            start_date=start_date,
            status=SubscriptionStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        _save_subscription(subscription)
        _publish(client.pk, events.subscription_created(subscription))
        if client.status == ClientStatus.PROSPECT:
            client.status = ClientStatus.ACTIVE
            client.updated_at = now
            client.save(update_fields=["status", "updated_at"])
            _publish(client.pk, events.client_event(client, created=False))
        _render_contracts_on_commit([subscription.pk])
    return subscription


def _locked(subscription: Subscription) -> Subscription:
    locked = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "client")
        .get(pk=subscription.pk)
    )
    if locked.status != SubscriptionStatus.ACTIVE:
        raise Conflict(
            _("Subscription %(id)s is cancelled; it cannot be changed.") % {"id": locked.pk}, code="cancelled"
        )
    return locked


def subscription_change_plan(
    *, subscription: Subscription, plan: Plan, now: datetime, effective_date: date | None = None
) -> Subscription:
    """Moves the subscription to ``plan`` from ``effective_date`` (default today): the router
    gets the new speed, billing prorates from that day, and a new contract version is rendered.
    The same plan again changes nothing. Raises Conflict for a cancelled subscription."""
    when = effective_date or timezone.localdate(now)
    with transaction.atomic(using=DB):
        subscription = _locked(subscription)
        if subscription.plan_id == plan.pk:
            return subscription
        if not plan.active:
            raise ValidationError(
                {"plan": [_('Plan "%(code)s" is no longer offered.') % {"code": plan.code}]}
            )
        PlanChange.objects.create(
            subscription=subscription,
            old_plan=subscription.plan,
            new_plan=plan,
            effective_date=when,
            changed_at=now,
        )
        subscription.plan = plan
        subscription.updated_at = now
        subscription.save(update_fields=["plan", "updated_at"])
        _publish(subscription.client_id, events.subscription_plan_changed(subscription, effective_date=when))
        _render_contracts_on_commit([subscription.pk])
    return subscription


def subscription_move(
    *, subscription: Subscription, router: str, now: datetime, address: str | None = None
) -> Subscription:
    """Moves the subscription to another router (its PPPoE user must be free there) with the
    given address or the next free one of that router's pool; publishes
    ``clients.subscription.moved``. Moving to the same router only changes the address."""
    with transaction.atomic(using=DB):
        subscription = _locked(subscription)
        if router == subscription.router and (not address or address == subscription.address):
            return subscription
        pool = _pool_locked(router)
        if (
            router != subscription.router
            and _live_on(router, subscription).filter(pppoe_username=subscription.pppoe_username).exists()
        ):
            raise Conflict(
                _('The PPPoE user "%(user)s" is already used on router %(router)s.')
                % {"user": subscription.pppoe_username, "router": router},
                code="duplicate_username",
            )
        subscription.address = _address_for(pool, address, exclude=subscription)
        subscription.router = router
        subscription.updated_at = now
        _save_subscription(subscription)
        _publish(subscription.client_id, events.subscription_moved(subscription))
    return subscription


def subscription_cancel(
    *, subscription: Subscription, now: datetime, effective_date: date | None = None
) -> Subscription:
    """Cancels the subscription with ``effective_date`` (default today) as its last day; the
    router drops it and its user name and address are free again. Idempotent."""
    when = effective_date or timezone.localdate(now)
    with transaction.atomic(using=DB):
        current = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if current.status == SubscriptionStatus.CANCELLED:
            return current
        current.status = SubscriptionStatus.CANCELLED
        current.end_date = when
        current.updated_at = now
        current.save(update_fields=["status", "end_date", "updated_at"])
        _publish(current.client_id, events.subscription_cancelled(current, effective_date=when))
    return current


def _save_subscription(subscription: Subscription) -> None:
    try:
        with transaction.atomic(using=DB):
            subscription.save()
    except IntegrityError as exc:
        raise Conflict(
            _("Another subscription took this user name or address on the router meanwhile; try again."),
            code="duplicate",
        ) from exc


# --- contracts -----------------------------------------------------------------------------------------


def contract_accept(
    *, document: ContractDocument, user_subject: str, client_id: int, ip: str | None, now: datetime
) -> ContractAcceptance:
    """Records that ``user_subject`` accepted ``document`` (who, when, from where, its hash).

    Only the latest version can be accepted (Conflict otherwise); accepting it again returns
    the first acceptance.
    """
    with transaction.atomic(using=DB):
        latest = (
            ContractDocument.objects.filter(subscription_id=document.subscription_id)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        if latest != document.version:
            raise Conflict(
                _("Version %(version)s is no longer the current contract; accept version %(latest)s.")
                % {"version": document.version, "latest": latest},
                code="not_current",
            )
        existing = ContractAcceptance.objects.filter(document=document, user_subject=user_subject).first()
        if existing is not None:
            return existing
        return ContractAcceptance.objects.create(
            document=document,
            user_subject=user_subject,
            client_id_seen=client_id,
            ip=ip,
            sha256=document.sha256,
            accepted_at=now,
        )


def contract_template_save(*, template: Any, now: datetime) -> Any:
    """Saves the ISP's contract template; every active subscription's contract is rendered
    again (a new version) since the clauses or the ISP's details it shows changed."""
    with transaction.atomic(using=DB):
        template.updated_at = now
        template.save()
        _render_contracts_on_commit(
            list(Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).values_list("pk", flat=True))
        )
    return template
