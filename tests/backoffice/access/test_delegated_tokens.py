"""A token a user delegated to a third-party app reaches only what the user's roles AND its scopes
allow, and a revoked one is refused by every service at once.

Cast: "Mi Barrio", an app staff granted network.read, network.write and support.read; Alice
(subscriber of client 1) and Nora (noc) consent it; Alice's internet service is 8101.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from oauth2_provider.models import Application

from backoffice.network.models import Service, ServiceStatus
from tests.backoffice.oauth_flow import app_register, bearer, consent, revoke, service_create

pytestmark = pytest.mark.django_db(databases=["default", "network", "support"])


@pytest.fixture
def mi_barrio() -> Application:
    return app_register("Mi Barrio", ["network.read", "network.write", "support.read"])


@pytest.fixture
def alices_service(db: None) -> Service:
    return service_create(subscription_id=8101, client_id=1)


def _scopes(answer: dict[str, Any]) -> set[str]:
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    return set(claims["scope"].split())


def test_a_subscriber_cannot_hand_an_app_network_write(
    mi_barrio: Application, alice: Any, alices_service: Service
) -> None:
    answer = consent(mi_barrio, alice, "network.write support.read")

    suspended = bearer(answer["access_token"]).post(
        f"/api/network/v1/services/{alices_service.subscription_id}/suspend", {}, format="json"
    )

    assert _scopes(answer) == {"support.read"}
    assert set(answer["scope"].split()) == {"support.read"}
    assert suspended.status_code == 403
    alices_service.refresh_from_db()
    assert alices_service.status == ServiceStatus.ACTIVE


def test_a_noc_operator_can_hand_the_same_app_network_write(
    mi_barrio: Application, nora: Any, alices_service: Service
) -> None:
    answer = consent(mi_barrio, nora, "network.write")

    suspended = bearer(answer["access_token"]).post(
        f"/api/network/v1/services/{alices_service.subscription_id}/suspend", {}, format="json"
    )

    assert _scopes(answer) == {"network.write"}
    assert suspended.status_code == 200, suspended.content
    alices_service.refresh_from_db()
    assert alices_service.status == ServiceStatus.SUSPENDED


def test_a_delegated_token_with_no_scope_reads_nothing(
    mi_barrio: Application, alice: Any, alices_service: Service, client_as: Any
) -> None:
    answer = consent(mi_barrio, alice, "network.write")
    app = bearer(answer["access_token"])

    assert _scopes(answer) == set()
    assert app.get("/api/network/v1/me/services/").status_code == 403
    assert app.get(f"/api/network/v1/me/services/{alices_service.subscription_id}/").status_code == 403
    assert app.get("/api/support/v1/tickets").status_code == 403
    assert app.get("/api/identity/v1/me").status_code == 403
    # Alice herself, signed in, reads her services.
    assert client_as(alice).get("/api/network/v1/me/services/").status_code == 200


def test_a_subscribers_network_read_reaches_her_own_services_but_not_every_clients(
    mi_barrio: Application, alice: Any, alices_service: Service
) -> None:
    answer = consent(mi_barrio, alice, "network.read")
    app = bearer(answer["access_token"])

    own = app.get("/api/network/v1/me/services/")

    assert own.status_code == 200
    assert [s["subscription_id"] for s in own.json()] == [alices_service.subscription_id]
    assert app.get(f"/api/network/v1/services/{alices_service.subscription_id}/").status_code == 403
    assert app.get("/api/network/v1/services/").status_code == 403


def test_a_delegated_token_cannot_change_the_users_password(mi_barrio: Application, alice: Any) -> None:
    answer = consent(mi_barrio, alice, "network.read support.read")

    response = bearer(answer["access_token"]).post(
        "/api/identity/v1/password/change",
        {"current_password": "whatever", "new_password": "una clave nueva y larga 2026"},
        format="json",
    )

    assert response.status_code == 403


def test_a_revoked_oauth_access_token_is_refused_by_the_network_api_at_once(
    mi_barrio: Application, nora: Any, alices_service: Service
) -> None:
    answer = consent(mi_barrio, nora, "network.read")
    app = bearer(answer["access_token"])
    assert app.get(f"/api/network/v1/services/{alices_service.subscription_id}/").status_code == 200

    revoked = revoke(mi_barrio, answer["access_token"])

    assert revoked.status_code == 200
    assert app.get(f"/api/network/v1/services/{alices_service.subscription_id}/").status_code == 401
