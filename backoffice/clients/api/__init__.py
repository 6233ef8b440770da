"""HTTP API of the clients service, mounted at /api/clients/v1/, one module per resource:

- :mod:`.clients`, :mod:`.plans`, :mod:`.subscriptions`, :mod:`.contracts` and :mod:`.me`
  (the subscriber's own record): the endpoints;
- :mod:`.serializers`: the output serializers and the fields the inputs share;
- :mod:`.common`: roles, permissions and pagination.

Writes: roles billing and admin, or services holding ``clients.write``. Reads: those and the
roles agent and noc, or ``clients.read``. A subscriber reads only their own client,
subscriptions and contracts (another's are 404) and accepts their own contract. Each endpoint
parses its input, makes one domain call and shapes the output.

The views are re-exported here for ``urls.py`` (``api.<View>``).
"""

from backoffice.clients.api.clients import ClientDetailApi, ClientListCreateApi
from backoffice.clients.api.contracts import ContractAcceptApi, ContractListApi, ContractPdfApi
from backoffice.clients.api.me import MeApi
from backoffice.clients.api.plans import PlanDetailApi, PlanListCreateApi
from backoffice.clients.api.subscriptions import (
    SubscriptionCancelApi,
    SubscriptionChangePlanApi,
    SubscriptionDetailApi,
    SubscriptionListCreateApi,
    SubscriptionMoveApi,
)

__all__ = [
    "ClientDetailApi",
    "ClientListCreateApi",
    "ContractAcceptApi",
    "ContractListApi",
    "ContractPdfApi",
    "MeApi",
    "PlanDetailApi",
    "PlanListCreateApi",
    "SubscriptionCancelApi",
    "SubscriptionChangePlanApi",
    "SubscriptionDetailApi",
    "SubscriptionListCreateApi",
    "SubscriptionMoveApi",
]
