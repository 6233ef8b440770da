"""Kafka handlers of the billing service: its copy of the clients service's clients and
subscriptions (what it invoices and to whom).

The runner calls each handler inside ``transaction.atomic(using="billing")`` together with the
inbox row, so a redelivered message changes nothing. Handlers parse ``envelope.data`` and make
one domain call; a field the contract says is always sent but is missing, or a domain refusal,
cannot succeed on retry and becomes a PermanentFailure (DLQ, with the reason).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from backoffice.access.errors import DomainError
from backoffice.billing import services
from backoffice.messaging.registry import ConsumerSpec
from enlace_messaging import catalog
from enlace_messaging.envelope import Envelope
from enlace_messaging.errors import PermanentFailure

logger = logging.getLogger(__name__)

DB = services.DB


@contextmanager
def _refusals_are_permanent(envelope: Envelope) -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        raise PermanentFailure(f"{envelope.type} {envelope.id}: {exc.message}") from exc


def _required(envelope: Envelope, data: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if data.get(name) in (None, "")]
    if missing:
        raise PermanentFailure(
            f"{envelope.type} {envelope.id}: billing needs {', '.join(missing)}, which the contract says "
            "is always sent"
        )


def _plan(envelope: Envelope) -> services.PlanTerms:
    plan = envelope.data["plan"]
    _required(envelope, plan, "name", "monthly_price", "tax_rate")
    return services.PlanTerms(
        code=plan["code"],
        name=plan["name"],
        monthly_price=Decimal(plan["monthly_price"]),
        tax_rate=Decimal(plan["tax_rate"]),
        installation_fee=Decimal(plan.get("installation_fee") or "0.00"),
    )


def handle_client(envelope: Envelope) -> None:
    """A client created or updated: billing's account takes their current details."""
    data = envelope.data
    services.account_upsert(
        client_id=data["client_id"],
        name=data["name"],
        identification_type=data["identification_type"],
        identification=data["identification"],
        billing_email=data.get("billing_email") or data.get("email") or "",
        language=data["language"],
    )


def handle_subscription_created(envelope: Envelope) -> None:
    data = envelope.data
    _required(envelope, data, "billing_day", "start_date")
    with _refusals_are_permanent(envelope):
        services.subscription_register(
            subscription_id=data["subscription_id"],
            client_id=data["client_id"],
            billing_day=data["billing_day"],
            start_date=date.fromisoformat(data["start_date"]),
            plan=_plan(envelope),
            now=timezone.now(),
        )


def handle_plan_changed(envelope: Envelope) -> None:
    data = envelope.data
    _required(envelope, data, "effective_date")
    with _refusals_are_permanent(envelope):
        services.subscription_plan_change(
            subscription_id=data["subscription_id"],
            plan=_plan(envelope),
            effective_date=date.fromisoformat(data["effective_date"]),
            now=timezone.now(),
        )


def handle_subscription_cancelled(envelope: Envelope) -> None:
    data = envelope.data
    _required(envelope, data, "effective_date")
    with _refusals_are_permanent(envelope):
        services.subscription_cancel(
            subscription_id=data["subscription_id"],
            effective_date=date.fromisoformat(data["effective_date"]),
            now=timezone.now(),
        )


# clients.subscription.moved changes the router, not what is billed: ignored on purpose.
CLIENTS_HANDLERS: dict[str, Callable[[Envelope], None]] = {
    "clients.client.created": handle_client,
    "clients.client.updated": handle_client,
    "clients.subscription.created": handle_subscription_created,
    "clients.subscription.plan_changed": handle_plan_changed,
    "clients.subscription.cancelled": handle_subscription_cancelled,
}

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="billing-clients",
        group_id="enlace.billing.clients",
        topics=[catalog.CLIENTS_EVENTS],
        using=DB,
        handlers=CLIENTS_HANDLERS,
    ),
]
