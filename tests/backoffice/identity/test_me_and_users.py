"""The current user's profile and password, and the admin-only user and audit lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/identity/v1/token"


def test_alice_changes_her_language_and_name(client_as: Callable[[Any], APIClient], alice: Any) -> None:
    response = client_as(alice).patch(
        "/api/identity/v1/me", {"language": "en", "full_name": "Alice A."}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["language"] == "en"
    alice.refresh_from_db()
    assert alice.full_name == "Alice A."


def test_me_without_a_token_is_401_with_a_bearer_challenge(api_client: APIClient, db: None) -> None:
    response = api_client.get("/api/identity/v1/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_changing_the_password_closes_other_sessions_but_keeps_this_one(
    api_client: APIClient, alice: Any
) -> None:
    here = api_client.post(TOKEN, {"email": "alice@example.ec", "password": PASSWORD}, format="json").json()
    elsewhere = api_client.post(
        TOKEN, {"email": "alice@example.ec", "password": PASSWORD}, format="json"
    ).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {here['access_token']}")

    response = client.post(
        "/api/identity/v1/password/change",
        {"current_password": PASSWORD, "new_password": "otra clave muy larga 2026"},
        format="json",
    )

    assert response.status_code == 204
    refresh = "/api/identity/v1/token/refresh"
    assert (
        api_client.post(refresh, {"refresh_token": elsewhere["refresh_token"]}, format="json").status_code
        == 401
    )
    assert (
        api_client.post(refresh, {"refresh_token": here["refresh_token"]}, format="json").status_code == 200
    )


def test_a_wrong_current_password_is_refused(client_as: Callable[[Any], APIClient], alice: Any) -> None:
    response = client_as(alice).post(
        "/api/identity/v1/password/change",
        {"current_password": "nope", "new_password": "otra clave muy larga 2026"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert response.json()["fields"]["current_password"]


def test_only_ada_the_admin_lists_and_creates_users(
    client_as: Callable[[Any], APIClient], ada: Any, bob: Any, alice: Any
) -> None:
    assert client_as(bob).get("/api/identity/v1/users").status_code == 403
    assert client_as(alice).get("/api/identity/v1/users").status_code == 403

    listing = client_as(ada).get("/api/identity/v1/users", {"role": "subscriber"})

    assert listing.status_code == 200
    assert [user["email"] for user in listing.json()["results"]] == ["alice@example.ec"]


def test_a_subscriber_needs_a_client_id(client_as: Callable[[Any], APIClient], ada: Any) -> None:
    response = client_as(ada).post(
        "/api/identity/v1/users", {"email": "x@example.ec", "roles": ["subscriber"]}, format="json"
    )

    assert response.status_code == 400
    assert "client_id" in response.json()["fields"]


def test_ada_reads_the_audit_log(
    client_as: Callable[[Any], APIClient], ada: Any, api_client: APIClient
) -> None:
    api_client.post(TOKEN, {"email": "ada@enlace.test", "password": "wrong"}, format="json")

    response = client_as(ada).get("/api/identity/v1/audit-events", {"kind": "login_failed"})

    assert response.status_code == 200
    assert response.json()["results"][0]["email"] == "ada@enlace.test"
