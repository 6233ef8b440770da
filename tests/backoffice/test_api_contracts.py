"""Every service's published OpenAPI schema tells the truth about its API (schemathesis, all checks).

For each service this process serves (``settings.ENLACE_SERVICES``) the schema is fetched from
``/api/<service>/v1/schema/`` of the real back-office application, then schemathesis generates
valid and invalid requests for every operation (its coverage and fuzzing phases), sends them to
the same application (WSGI, real PostgreSQL and Redis) and runs every built-in check on each
answer: no server error, status codes, content types, headers and bodies as documented, invalid
input refused, valid input accepted, authentication enforced.

Each operation that needs a token is tried as every role (admin, agent, billing, noc and a
subscriber, signed in through identity's services); public operations are tried anonymously.
A new service is checked as soon as its ``urls.py`` has routes: nothing to add here (docs/api.md).

Runs are deterministic (derandomized Hypothesis, no example database) and bounded by
``MAX_EXAMPLES`` per operation and role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from backoffice.billing import invoicing
from backoffice.billing import services as billing
from backoffice.clients import services as clients
from backoffice.identity import services as identity
from backoffice.identity import tokens
from backoffice.network import services as network
from backoffice.network.models import Service
from backoffice.support.models import Ticket
from backoffice.wsgi import application

pytestmark = pytest.mark.django_db(databases="__all__")

MAX_EXAMPLES = 25
ROLES = ("admin", "agent", "billing", "noc", "subscriber")
ANONYMOUS = "anonymous"

load_all_checks()
ALL_CHECKS = list(CHECKS.get_all())

# Valid input that only the server can judge: a secret generated data cannot guess (an activation
# code, an e-mail link's token, the current password), a name that must exist (a router), the
# password policy (the schema states length and "not all digits"; Django's validators also refuse
# common passwords and ones like the user's data), a unicast host address, a subscriber user's
# client (required with that role only) and a ticket's client, which staff must name and a
# subscriber may leave out. A schema-valid request to these may be
# refused with 400, but only with the error code (and field) naming that input, as OAuth refuses
# a wrong authorization code (invalid_grant).
ONLY_THE_SERVER_KNOWS: dict[str, set[tuple[str, str | None]]] = {
    "POST /api/identity/v1/activation": {("invalid_code", None), ("invalid", "password")},
    "POST /api/identity/v1/email/verify": {("invalid_token", None)},
    "POST /api/identity/v1/password/reset/confirm": {("invalid_token", None), ("invalid", "new_password")},
    "POST /api/identity/v1/password/change": {("invalid", "current_password"), ("invalid", "new_password")},
    "POST /api/identity/v1/users": {("invalid", "password"), ("invalid", "client_id")},
    "POST /api/network/v1/services/": {("unknown_router", None), ("invalid_address", None)},
    "PATCH /api/network/v1/services/{subscription_id}/": {
        ("unknown_router", None),
        ("invalid_address", None),
    },
    "POST /api/support/v1/tickets": {("invalid", "client_id")},
    # A cédula's or RUC's check digit, and one another client already holds; coordinates
    # come in pairs.
    "POST /api/clients/v1/clients/": {("invalid", "identification"), ("invalid", "latitude")},
    "PATCH /api/clients/v1/clients/{client_id}/": {("invalid", "identification"), ("invalid", "latitude")},
    # A plan code already taken; a new price cannot apply before today.
    "POST /api/clients/v1/plans/": {("invalid", "code")},
    "PATCH /api/clients/v1/plans/{code}/": {("invalid", "price_effective_from")},
    # The client, plan and router must exist (the plan still offered), the address be free in
    # the router's pool and the PPPoE user free on the router.
    "POST /api/clients/v1/subscriptions/": {
        ("invalid", "client_id"),
        ("invalid", "plan"),
        ("invalid", "router"),
        ("invalid", "address"),
        ("invalid", "pppoe_username"),
    },
    "POST /api/clients/v1/subscriptions/{subscription_id}/change-plan": {("invalid", "plan")},
    "POST /api/clients/v1/subscriptions/{subscription_id}/move": {
        ("invalid", "router"),
        ("invalid", "address"),
    },
    # The hash of the document the subscriber read.
    "POST /api/clients/v1/subscriptions/{subscription_id}/contracts/{version}/accept": {
        ("invalid", "sha256")
    },
    # What is left to credit on the invoice, and whether it is void.
    "POST /api/billing/v1/invoices/{number}/credit-notes/": {
        ("credit_exceeds_invoice", None),
        ("invoice_void", None),
    },
    # The client must have a billing account; a transfer needs its bank reference.
    "POST /api/billing/v1/payments/": {("invalid", "client_id"), ("invalid", "reference")},
    # The invoice must be the client's and open, and there must be something to pay.
    "POST /api/billing/v1/checkouts/": {
        ("invalid", "client_id"),
        ("unknown_invoice", None),
        ("nothing_to_pay", None),
    },
    "POST /api/billing/v1/me/checkouts/": {("unknown_invoice", None), ("nothing_to_pay", None)},
    # A gateway's signature over the body (a secret), for a gateway enabled here.
    "POST /api/billing/v1/webhooks/{gateway}": {("webhook_rejected", None), ("gateway_error", None)},
}


def refused_only_for_what_the_server_knows(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request to an ONLY_THE_SERVER_KNOWS operation is accepted, or refused
    for one of the inputs listed there."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    body = response.json()
    refused_fields = list(body.get("fields") or {}) or [None]
    reasons = {(body.get("error"), field) for field in refused_fields}
    allowed = ONLY_THE_SERVER_KNOWS[case.operation.label]
    assert reasons <= allowed, f"a schema-valid request was refused for {sorted(map(str, reasons - allowed))}"
    return None


def _checks_for(case: Any) -> list[Any]:
    if case.operation.label not in ONLY_THE_SERVER_KNOWS:
        return ALL_CHECKS
    others = [check for check in ALL_CHECKS if check is not positive_data_acceptance]
    return [*others, refused_only_for_what_the_server_knows]


def _needs_token(operation: dict[str, Any]) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def _operations(schema: Any) -> list[dict[str, Any]]:
    return [op for item in schema.raw_schema.get("paths", {}).values() for op in item.values()]


# Each service's schema, loaded once from the application (a service without routes yet has none).
SCHEMAS = {
    service: schemathesis.openapi.from_wsgi(f"/api/{service}/v1/schema/?format=json", application)
    for service in settings.ENLACE_SERVICES
}


def _schemas_for(role: str) -> dict[str, Any]:
    """The operations to try as ``role``: public ones anonymously (they ignore tokens), the rest
    as every role; services left out while they have no such operation."""
    selected: dict[str, Any] = {}
    for service, schema in SCHEMAS.items():
        wanted = [op for op in _operations(schema) if _needs_token(op) == (role != ANONYMOUS)]
        if wanted:
            selected[service] = schema.include(
                func=lambda ctx, needs=role != ANONYMOUS: _needs_token(ctx.operation.definition.raw) == needs
            )
    return selected


def _arrange_clients_and_billing(now: Any) -> int:
    """The subscriber's client on a plan, with a billing account and an invoice; returns the
    client's id (ids come from sequences, which rolled-back tests do not reset)."""
    clients.router_pool_set(router="r1", network="10.50.0.0/24")
    plan = clients.plan_create(
        code="hogar-20", name="Hogar 20", download="20M", upload="5M", monthly_price=Decimal("20.00"), now=now
    )
    client = clients.client_create(
        name="Alice Andrade",
        identification_type="cedula",
        identification="0102030400",
        email="alice@contracts.enlace.test",
        now=now,
    )
    today = timezone.localdate(now)
    subscription = clients.subscription_create(
        client=client, plan=plan, router="r1", billing_day=1, start_date=today, now=now
    )
    billing.account_upsert(client_id=client.pk, name=client.name)
    registered = billing.subscription_register(
        subscription_id=subscription.pk,
        client_id=client.pk,
        billing_day=1,
        start_date=today.replace(day=1),
        plan=billing.PlanTerms(
            code=plan.code, name=plan.name, monthly_price=plan.monthly_price, tax_rate=plan.tax_rate
        ),
        now=now,
    )
    invoicing.invoice_issue(subscription=registered, month=today.replace(day=1), today=today, now=now)
    return int(client.pk)


def _arrange_network_and_support(now: Any, client_id: int) -> None:
    """A router with three services (one suspended) and a ticket, for requests to find."""
    router = network.router_create(
        name="r1", host="127.0.0.1", username="enlace", password="router-pass", address_pool="10.50.0.0/24"
    )
    for subscription_id in (1, 2, 3):
        network.service_create(
            subscription_id=subscription_id,
            client_id=subscription_id,
            router=router,
            pppoe_username=f"cliente{subscription_id}",
            pppoe_password="pppoe-pass",
            plan_code="hogar-20",
            download="20M",
            upload="5M",
            now=now,
        )
    network.service_suspend(service=Service.objects.get(subscription_id=2), reason="manual", now=now)
    Ticket.objects.create(client_id=client_id, subject="Sin internet", created_by="1")


class World:
    """What one operation's requests find; every example of the operation shares it (and its
    test transaction, rolled back at the end)."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.client_id = _arrange_clients_and_billing(self.now)
        _arrange_network_and_support(self.now, self.client_id)
        self._tokens: dict[str, str] = {}

    def token(self, role: str) -> str:
        """An access token of a user holding ``role``, created by identity on first use.

        The user has no password: hashing one (Argon2) for every operation would cost seconds.
        """
        if role not in self._tokens:
            user = identity.user_create(
                email=f"{role}@contracts.enlace.test",
                roles=[role],
                client_id=self.client_id if role == "subscriber" else None,
            )
            self._tokens[role] = tokens.login_pair(user=user, now=self.now).access_token
        return self._tokens[role]


@pytest.fixture(autouse=True)
def _requests_share_the_test_transaction() -> Iterator[None]:
    """As Django's test client does: a request must not close the connection the test's
    transaction lives on (the WSGI handler closes "old" connections as each request ends)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db: None) -> World:
    return World()


def _contract_test(role: str) -> Callable[..., None]:
    @schemathesis.pytest.parametrize(**_schemas_for(role))
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def test(case: Any, world: World) -> None:
        headers = None
        # A case made invalid in its headers (e.g. without Authorization) is sent as generated.
        if role != ANONYMOUS and not (case.meta and case.meta.is_negative_at(ParameterLocation.HEADER)):
            headers = {"Authorization": f"Bearer {world.token(role)}"}
        case.call_and_validate(headers=headers, checks=_checks_for(case))

    test.__name__ = f"test_api_contract_as_{role}"
    test.__doc__ = f"Every operation's answers to requests as {role} are what its schema says."
    return test


for _role in (*ROLES, ANONYMOUS):
    globals()[f"test_api_contract_as_{_role}"] = _contract_test(_role)
