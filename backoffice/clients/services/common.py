"""What the clients service's writes share: the database, the outbox, speeds, money, billing dates."""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal

from django.db import transaction

from backoffice.clients import tasks
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
