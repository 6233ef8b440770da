"""The network's write functions (HackSoft services), one module per concern:

- :mod:`.routers`: registering, changing, removing and reconciling routers;
- :mod:`.lifecycle`: a subscriber's service from creation to termination;
- :mod:`.results`: the netagent's results and line diagnoses;
- :mod:`.runs`: set-based runs over many clients' services (billing);
- :mod:`.messages`: the outbox commands and events a change writes;
- :mod:`.validation` and :mod:`.common`: what the others share.

The public functions are re-exported here because the API, the admin, the consumers and the
seed command call them as ``services.<name>`` (the HackSoft convention).
"""

from backoffice.network.services.lifecycle import (
    service_create,
    service_reactivate,
    service_suspend,
    service_terminate,
    service_update,
)
from backoffice.network.services.results import (
    AppliedResult,
    diagnosis_complete,
    service_command_failed,
    service_commands_applied,
    service_diagnose,
)
from backoffice.network.services.routers import (
    router_create,
    router_delete,
    router_reconcile_request,
    router_reconciled,
    router_update,
)
from backoffice.network.services.runs import (
    ClientServices,
    clients_services_reactivate,
    clients_services_suspend,
)
from backoffice.network.services.validation import (
    router_validate,
    validate_address,
    validate_pool,
    validate_speed,
)

__all__ = [
    "AppliedResult",
    "ClientServices",
    "clients_services_reactivate",
    "clients_services_suspend",
    "diagnosis_complete",
    "router_create",
    "router_delete",
    "router_reconcile_request",
    "router_reconciled",
    "router_update",
    "router_validate",
    "service_command_failed",
    "service_commands_applied",
    "service_create",
    "service_diagnose",
    "service_reactivate",
    "service_suspend",
    "service_terminate",
    "service_update",
    "validate_address",
    "validate_pool",
    "validate_speed",
]
