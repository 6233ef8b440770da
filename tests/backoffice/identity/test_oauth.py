"""OAuth2 client credentials: services get identity's JWTs with scopes, checked by other services."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from backoffice.identity.models import OAuthClientScopes

pytestmark = pytest.mark.django_db(databases=["default", "support"])

SECRET = "the-billing-service-secret"


def _service(name: str, scopes: list[str]) -> Application:
    app = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=SECRET,
    )
    OAuthClientScopes.objects.create(application=app, scopes=scopes)
    return app


def _token(app: Application, scope: str | None = None) -> Any:
    basic = base64.b64encode(f"{app.client_id}:{SECRET}".encode()).decode()
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    return APIClient().post("/o/token/", data, HTTP_AUTHORIZATION=f"Basic {basic}")


def _tickets(token: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/support/v1/tickets")


def test_a_service_token_with_support_read_lists_tickets() -> None:
    app = _service("chatbot", ["support.read", "support.write"])

    response = _token(app, "support.read")

    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == f"client:{app.client_id}"
    assert claims["client_id"] == app.client_id
    assert claims["scope"] == "support.read"
    assert claims["typ"] == "access"
    assert "kid" in jwt.get_unverified_header(token)
    assert _tickets(token).status_code == 200


def test_a_service_token_without_the_scope_is_forbidden() -> None:
    app = _service("netagent", ["network.read"])

    token = _token(app, "network.read").json()["access_token"]

    response = _tickets(token)
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


def test_a_service_cannot_obtain_a_scope_it_was_not_granted() -> None:
    app = _service("netagent", ["network.read"])

    assert _token(app, "support.read").status_code == 400


def test_without_a_requested_scope_a_service_gets_only_its_granted_scopes() -> None:
    app = _service("billing", ["billing.read"])

    token = _token(app).json()["access_token"]

    assert jwt.decode(token, options={"verify_signature": False})["scope"] == "billing.read"
    assert _tickets(token).status_code == 403
