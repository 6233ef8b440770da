"""Builds the events the clients service publishes (schemas in messaging/schemas/clients.py).

Pure functions over model instances; writing them to the outbox is the services' job. Every
"always sent" field of the catalogue is sent on every event of its type.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.clients.models import Client, Plan, Subscription
from enlace_messaging.envelope import Envelope

SOURCE = "clients"


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def rate(value: Decimal) -> str:
    # "0.1500" -> "0.15"; the schema allows up to four decimals.
    return format(value.normalize(), "f")


def plan_data(plan: Plan) -> dict[str, Any]:
    return {
        "code": plan.code,
        "name": plan.name,
        "download": plan.download,
        "upload": plan.upload,
        "monthly_price": money(plan.monthly_price),
        "tax_rate": rate(plan.tax_rate),
        "installation_fee": money(plan.installation_fee),
    }


def client_data(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.pk,
        "kind": client.kind,
        "name": client.name,
        "identification_type": client.identification_type,
        "identification": client.identification,
        "email": client.email or None,
        "billing_email": client.billing_email or client.email or None,
        "phone": client.phone or None,
        "language": client.language,
        "status": client.status,
        "address": client.address or None,
    }


def client_event(client: Client, *, created: bool) -> Envelope:
    kind = "clients.client.created" if created else "clients.client.updated"
    return Envelope.new(type=kind, data=client_data(client), source=SOURCE)


def subscription_created(subscription: Subscription) -> Envelope:
    return Envelope.new(
        type="clients.subscription.created",
        data={
            "subscription_id": subscription.pk,
            "client_id": subscription.client_id,
            "router": subscription.router,
            "pppoe_username": subscription.pppoe_username,
            "pppoe_password": subscription.pppoe_password,
            "address": subscription.address,
            "plan": plan_data(subscription.plan),
            "billing_day": subscription.billing_day,
            "start_date": subscription.start_date.isoformat(),
        },
        source=SOURCE,
    )


def subscription_plan_changed(subscription: Subscription, *, effective_date: date) -> Envelope:
    return Envelope.new(
        type="clients.subscription.plan_changed",
        data={
            "subscription_id": subscription.pk,
            "client_id": subscription.client_id,
            "plan": plan_data(subscription.plan),
            "effective_date": effective_date.isoformat(),
        },
        source=SOURCE,
    )


def subscription_moved(subscription: Subscription) -> Envelope:
    return Envelope.new(
        type="clients.subscription.moved",
        data={
            "subscription_id": subscription.pk,
            "client_id": subscription.client_id,
            "router": subscription.router,
            "address": subscription.address,
        },
        source=SOURCE,
    )


def subscription_cancelled(subscription: Subscription, *, effective_date: date) -> Envelope:
    return Envelope.new(
        type="clients.subscription.cancelled",
        data={
            "subscription_id": subscription.pk,
            "client_id": subscription.client_id,
            "effective_date": effective_date.isoformat(),
        },
        source=SOURCE,
    )
