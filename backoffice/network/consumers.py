"""Kafka handlers of the network service: the netagent's results, billing and clients events.

The runner calls each handler inside ``transaction.atomic(using="network")`` together with the
inbox row, so a redelivered message changes nothing and the handler may write to the outbox.
Handlers are thin: parse ``envelope.data``, make one domain call. A domain refusal (unknown
router, taken address...) cannot succeed on retry, so it becomes a PermanentFailure (DLQ).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from django.utils import timezone

from backoffice.access.errors import DomainError
from backoffice.databases import service_db
from backoffice.messaging.registry import ConsumerSpec, HandlerMany
from backoffice.network import services
from backoffice.network.models import Router, Service, ServiceStatus, SuspensionReason
from enlace_messaging import catalog
from enlace_messaging.envelope import Envelope
from enlace_messaging.errors import PermanentFailure

logger = logging.getLogger(__name__)

DB = service_db("network")


@contextmanager
def _refusals_are_permanent(envelopes: Envelope | Sequence[Envelope]) -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        # A run refused as a whole is applied again one message at a time by the runner,
        # so the message that goes to the DLQ is the one at fault.
        names = ", ".join(
            f"{e.type} {e.id}" for e in ([envelopes] if isinstance(envelopes, Envelope) else envelopes)
        )
        raise PermanentFailure(f"{names}: {exc.message}") from exc


# --- results of the netagent (enlace.network.results.v1) ---------------------------------------------


def handle_commands_applied(envelopes: Sequence[Envelope]) -> None:
    """Records a run of results (one per subscription) with a few queries for them all."""
    services.service_commands_applied(
        [
            services.AppliedResult(
                command_id=data["command_id"],
                subscription_id=data["subscription_id"],
                router_name=data["router"],
                revision=data["revision"],
                status=data["status"],
                online=data.get("online"),
                causation=envelope,
            )
            for envelope in envelopes
            for data in [envelope.data]
        ],
        now=timezone.now(),
    )


def handle_command_failed(envelope: Envelope) -> None:
    data = envelope.data
    services.service_command_failed(
        command_id=data["command_id"],
        subscription_id=data.get("subscription_id"),
        router_name=data["router"],
        revision=data.get("revision"),
        error=data["error"],
        permanent=data["permanent"],
        now=timezone.now(),
        causation=envelope,
    )


def handle_router_reconciled(envelope: Envelope) -> None:
    services.router_reconciled(router_name=envelope.data["router"], now=timezone.now())


def handle_diagnosis_completed(envelope: Envelope) -> None:
    data = envelope.data
    services.diagnosis_complete(
        request_id=data["request_id"],
        online=data["online"],
        address=data.get("address"),
        uptime=data.get("uptime"),
        caller_id=data.get("caller_id"),
        error=data.get("error"),
        now=timezone.now(),
    )


# --- billing (enlace.billing.events.v1) -----------------------------------------------------------------


def handle_accounts_overdue(envelopes: Sequence[Envelope]) -> None:
    """Suspends the clients' (listed) services for non-payment: an overdue run, set-based."""
    with _refusals_are_permanent(envelopes):
        services.clients_services_suspend(
            _client_requests(envelopes), reason=SuspensionReason.OVERDUE, now=timezone.now()
        )


def handle_accounts_settled(envelopes: Sequence[Envelope]) -> None:
    """Reactivates the services suspended for non-payment; manual suspensions stay."""
    with _refusals_are_permanent(envelopes):
        services.clients_services_reactivate(
            _client_requests(envelopes), reason=SuspensionReason.OVERDUE, now=timezone.now()
        )


def _client_requests(envelopes: Sequence[Envelope]) -> list[services.ClientServices]:
    return [
        services.ClientServices(
            client_id=envelope.data["client_id"],
            subscription_ids=envelope.data.get("subscription_ids"),
            causation=envelope,
        )
        for envelope in envelopes
    ]


def _client_key(envelope: Envelope) -> int:
    return int(envelope.data["client_id"])


def _subscription_key(envelope: Envelope) -> int:
    return int(envelope.data["subscription_id"])


# --- clients (enlace.clients.events.v1) ------------------------------------------------------------------


def handle_subscription_created(envelope: Envelope) -> None:
    """Provisions the new subscription's service; a service that already exists is left alone."""
    data = envelope.data
    if Service.objects.filter(subscription_id=data["subscription_id"]).exists():
        logger.info("subscription %s already has a service; %s ignored", data["subscription_id"], envelope.id)
        return
    router = Router.objects.filter(name=data["router"]).first()
    if router is None:
        raise PermanentFailure(f"subscription {data['subscription_id']}: unknown router {data['router']!r}")
    with _refusals_are_permanent(envelope):
        services.service_create(
            subscription_id=data["subscription_id"],
            client_id=data["client_id"],
            router=router,
            pppoe_username=data["pppoe_username"],
            pppoe_password=data["pppoe_password"],
            address=data.get("address"),
            plan_code=data["plan"]["code"],
            download=data["plan"]["download"],
            upload=data["plan"]["upload"],
            now=timezone.now(),
            causation=envelope,
        )


def handle_plan_changed(envelope: Envelope) -> None:
    """Applies the new plan's speed (the session is kicked so it takes effect)."""
    data = envelope.data
    service = _service_or_none(data["subscription_id"])
    if service is None:
        raise PermanentFailure(
            f"plan change for subscription {data['subscription_id']}, which has no service"
        )
    if service.status == ServiceStatus.TERMINATED:
        logger.info("plan change for terminated subscription %s ignored", service.subscription_id)
        return
    with _refusals_are_permanent(envelope):
        services.service_update(
            service=service,
            plan_code=data["plan"]["code"],
            download=data["plan"]["download"],
            upload=data["plan"]["upload"],
            now=timezone.now(),
            causation=envelope,
        )


def handle_subscription_moved(envelope: Envelope) -> None:
    """Moves the service to another router (and address): the old router drops it, the new one
    provisions it."""
    data = envelope.data
    service = _service_or_none(data["subscription_id"])
    if service is None:
        raise PermanentFailure(f"move of subscription {data['subscription_id']}, which has no service")
    if service.status == ServiceStatus.TERMINATED:
        logger.info("move of terminated subscription %s ignored", service.subscription_id)
        return
    router = Router.objects.filter(name=data["router"]).first()
    if router is None:
        raise PermanentFailure(f"subscription {data['subscription_id']}: unknown router {data['router']!r}")
    with _refusals_are_permanent(envelope):
        services.service_update(
            service=service,
            router=router,
            address=data.get("address"),
            now=timezone.now(),
            causation=envelope,
        )


def handle_subscription_cancelled(envelope: Envelope) -> None:
    """Terminates the service; a subscription that never got one needs nothing."""
    service = _service_or_none(envelope.data["subscription_id"])
    if service is None:
        logger.info("cancelled subscription %s has no service", envelope.data["subscription_id"])
        return
    services.service_terminate(service=service, now=timezone.now(), causation=envelope)


def _service_or_none(subscription_id: int) -> Service | None:
    return Service.objects.select_related("router").filter(subscription_id=subscription_id).first()


RESULT_HANDLERS: dict[str, Callable[[Envelope], None]] = {
    "network.command.failed": handle_command_failed,
    "network.router.reconciled": handle_router_reconciled,
    "network.diagnosis.completed": handle_diagnosis_completed,
}
# Types that come in bursts (an overdue run and its results) are applied a run at a time.
RESULT_HANDLERS_MANY: dict[str, HandlerMany] = {
    "network.command.applied": HandlerMany(handle_commands_applied, key=_subscription_key),
}
BILLING_HANDLERS_MANY: dict[str, HandlerMany] = {
    "billing.account.overdue": HandlerMany(handle_accounts_overdue, key=_client_key),
    "billing.account.settled": HandlerMany(handle_accounts_settled, key=_client_key),
}
CLIENTS_HANDLERS: dict[str, Callable[[Envelope], None]] = {
    "clients.subscription.created": handle_subscription_created,
    "clients.subscription.plan_changed": handle_plan_changed,
    "clients.subscription.moved": handle_subscription_moved,
    "clients.subscription.cancelled": handle_subscription_cancelled,
}

# Three groups, so a burst on one topic (an overdue run) does not hold up the others.
CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="network-results",
        group_id="enlace.network.results",
        topics=[catalog.NETWORK_RESULTS],
        using=DB,
        handlers=RESULT_HANDLERS,
        handlers_many=RESULT_HANDLERS_MANY,
    ),
    ConsumerSpec(
        name="network-billing",
        group_id="enlace.network.billing",
        topics=[catalog.BILLING_EVENTS],
        using=DB,
        handlers_many=BILLING_HANDLERS_MANY,
    ),
    ConsumerSpec(
        name="network-clients",
        group_id="enlace.network.clients",
        topics=[catalog.CLIENTS_EVENTS],
        using=DB,
        handlers=CLIENTS_HANDLERS,
    ),
]
