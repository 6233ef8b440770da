"""Kafka handlers of the identity service: the clients service's client events.

The runner calls each handler inside ``transaction.atomic(using="default")`` together with the
inbox row, so a redelivered message changes nothing; the e-mail goes out on commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils import timezone

from backoffice.identity import services
from backoffice.messaging.registry import ConsumerSpec
from enlace_messaging import catalog
from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)


def handle_client_registered(envelope: Envelope) -> None:
    """A client with an e-mail gets their portal account: linked, or an activation code e-mailed.

    Also on ``clients.client.updated``, so a client whose e-mail is added later gets one too
    (a code already pending is not sent again).
    """
    data = envelope.data
    outcome = services.subscriber_account_for_client(
        client_id=data["client_id"],
        email=data.get("email"),
        full_name=data["name"],
        language=data["language"],
        now=timezone.now(),
    )
    logger.info("client %s (%s): %s", data["client_id"], envelope.type, outcome)


CLIENTS_HANDLERS: dict[str, Callable[[Envelope], None]] = {
    "clients.client.created": handle_client_registered,
    "clients.client.updated": handle_client_registered,
}

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="identity-clients",
        group_id="enlace.identity.clients",
        topics=[catalog.CLIENTS_EVENTS],
        using=services.accounts.DB,
        handlers=CLIENTS_HANDLERS,
    ),
]
