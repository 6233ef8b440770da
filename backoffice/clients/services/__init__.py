"""Writes of the clients service (HackSoft services), one module per concern:

- :mod:`.clients`: registering and changing clients;
- :mod:`.plans`: plans and their prices;
- :mod:`.addressing`: router address pools and the PPPoE user and address a subscription gets;
- :mod:`.subscriptions`: a subscription from creation to cancellation;
- :mod:`.contracts`: contract acceptance and the contract template;
- :mod:`.common`: the database alias, the outbox and what the others share.

Every write runs in ``transaction.atomic(using="clients")`` and writes its
``clients.client.*`` / ``clients.subscription.*`` event to the outbox in that transaction
(key: the client id, so a client's events stay in order). Rendering the contract is queued
on commit (Celery, :mod:`backoffice.clients.tasks`). Field problems raise Django's
ValidationError keyed by field (a 400 naming the field); others raise the domain errors of
:mod:`backoffice.access.errors`. ``now`` is passed in by the caller.

The public functions are re-exported here because the API, the admin, the tasks and the seed
command call them as ``services.<name>`` (the HackSoft convention).
"""

from backoffice.clients.services.addressing import router_pool_set
from backoffice.clients.services.clients import client_create, client_update
from backoffice.clients.services.common import CENT, DB, SPEED_RE, next_billing_date
from backoffice.clients.services.contracts import contract_accept, contract_template_save
from backoffice.clients.services.plans import plan_create, plan_price_on, plan_update
from backoffice.clients.services.subscriptions import (
    subscription_cancel,
    subscription_change_plan,
    subscription_create,
    subscription_move,
)

__all__ = [
    "CENT",
    "DB",
    "SPEED_RE",
    "client_create",
    "client_update",
    "contract_accept",
    "contract_template_save",
    "next_billing_date",
    "plan_create",
    "plan_price_on",
    "plan_update",
    "router_pool_set",
    "subscription_cancel",
    "subscription_change_plan",
    "subscription_create",
    "subscription_move",
]
