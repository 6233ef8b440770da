"""Celery tasks of the clients service: thin, keyword-only ids, tolerant of extra kwargs
(so a deploy that adds an argument does not break work already queued)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import OperationalError
from django.utils import timezone

from backoffice.celery import app

logger = logging.getLogger(__name__)


@app.task(
    name="clients.contract_render",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def contract_render(*, subscription_id: int, **_ignored: Any) -> int | None:
    """Renders the subscription's contract again if what it shows changed (a new version)."""
    # Imported here: the contracts module loads WeasyPrint's templates, API processes need not.
    from backoffice.clients import contracts

    return contracts.contract_render(subscription_id=subscription_id, now=timezone.now())


def contracts_render_queue(subscription_ids: Iterable[int]) -> None:
    """Queues a render for each subscription (called on commit of the change)."""
    for subscription_id in subscription_ids:
        contract_render.delay(subscription_id=subscription_id)
