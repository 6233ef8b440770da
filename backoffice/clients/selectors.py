"""Reads of the clients service. A subscriber's reads are narrowed to their own client, so
another client's records are simply not found (404), never "forbidden"."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from backoffice.access.errors import NotFound
from backoffice.clients.models import Client, ContractDocument, Plan, RouterPool, Subscription


def client_list(
    *,
    q: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    identification_type: str | None = None,
    city: str | None = None,
    only_client_id: int | None = None,
) -> QuerySet[Client]:
    """Clients matching the search ``q`` (name, identification, e-mail or one of their PPPoE
    users) and the filters, oldest first."""
    clients = Client.objects.all()
    if only_client_id is not None:
        clients = clients.filter(pk=only_client_id)
    if q:
        term = q.strip()
        clients = clients.filter(
            Q(name__icontains=term)
            | Q(identification__startswith=term)
            | Q(email__icontains=term)
            | Q(billing_email__icontains=term)
            | Q(pk__in=Subscription.objects.filter(pppoe_username__icontains=term).values("client_id"))
        )
    if status:
        clients = clients.filter(status=status)
    if kind:
        clients = clients.filter(kind=kind)
    if identification_type:
        clients = clients.filter(identification_type=identification_type)
    if city:
        clients = clients.filter(city__iexact=city)
    return clients.order_by("id")


def client_get(*, client_id: int, only_client_id: int | None = None) -> Client:
    """The client; NotFound when it does not exist or is not ``only_client_id``."""
    if only_client_id is not None and client_id != only_client_id:
        client = None
    else:
        client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise NotFound(_("There is no client %(id)s.") % {"id": client_id})
    return client


def plan_list(*, active: bool | None = None) -> QuerySet[Plan]:
    plans = Plan.objects.all()
    if active is not None:
        plans = plans.filter(active=active)
    return plans.order_by("monthly_price", "code")


def plan_get(*, code: str) -> Plan:
    plan = Plan.objects.filter(code=code).first()
    if plan is None:
        raise NotFound(_('There is no plan "%(code)s".') % {"code": code})
    return plan


def subscription_list(
    *,
    client_id: int | None = None,
    router: str | None = None,
    status: str | None = None,
    plan: str | None = None,
    pppoe_username: str | None = None,
) -> QuerySet[Subscription]:
    subscriptions = Subscription.objects.select_related("plan", "client")
    if client_id is not None:
        subscriptions = subscriptions.filter(client_id=client_id)
    if router:
        subscriptions = subscriptions.filter(router=router)
    if status:
        subscriptions = subscriptions.filter(status=status)
    if plan:
        subscriptions = subscriptions.filter(plan__code=plan)
    if pppoe_username:
        subscriptions = subscriptions.filter(pppoe_username=pppoe_username)
    return subscriptions.order_by("id")


def subscription_get(*, subscription_id: int, only_client_id: int | None = None) -> Subscription:
    """The subscription; NotFound when it does not exist or is not of ``only_client_id``."""
    subscriptions = Subscription.objects.select_related("plan", "client").filter(pk=subscription_id)
    if only_client_id is not None:
        subscriptions = subscriptions.filter(client_id=only_client_id)
    subscription = subscriptions.first()
    if subscription is None:
        raise NotFound(_("There is no subscription %(id)s.") % {"id": subscription_id})
    return subscription


def contract_list(*, subscription: Subscription) -> QuerySet[ContractDocument]:
    """Every version of the subscription's contract (newest first), without the PDF bytes."""
    return (
        ContractDocument.objects.filter(subscription=subscription)
        .defer("pdf")
        .prefetch_related("acceptances")
        .order_by("-version", "language")
    )


def contract_get(*, subscription: Subscription, version: int, language: str) -> ContractDocument:
    document = ContractDocument.objects.filter(
        subscription=subscription, version=version, language=language
    ).first()
    if document is None:
        raise NotFound(
            _("Subscription %(id)s has no contract version %(version)s in %(language)s.")
            % {"id": subscription.pk, "version": version, "language": language}
        )
    return document


def router_pool_list() -> QuerySet[RouterPool]:
    return RouterPool.objects.order_by("router")
