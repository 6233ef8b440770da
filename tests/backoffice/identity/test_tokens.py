"""Login, rotating refresh tokens, reuse detection and logout."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from backoffice.identity.models import AuditEvent
from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "support"])

TOKEN = "/api/identity/v1/token"
REFRESH = "/api/identity/v1/token/refresh"
LOGOUT = "/api/identity/v1/logout"
ME = "/api/identity/v1/me"


def _login(client: APIClient, email: str, password: str = PASSWORD) -> Any:
    return client.post(TOKEN, {"email": email, "password": password}, format="json")


def _me(token: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(ME)


def test_alice_logs_in_and_sees_her_profile(api_client: APIClient, alice: Any) -> None:
    response = _login(api_client, "Alice@Example.ec")

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    me = _me(response.json()["access_token"])
    assert me.status_code == 200
    assert me.json() == {
        "id": alice.pk,
        "email": "alice@example.ec",
        "full_name": "Alice Andrade",
        "roles": ["subscriber"],
        "client_id": 1,
        "language": "es",
        "email_verified": False,
    }
    assert AuditEvent.objects.filter(kind="login_succeeded", user=alice).count() == 1


def test_a_wrong_password_is_refused_as_invalid_credentials(api_client: APIClient, alice: Any) -> None:
    response = _login(api_client, "alice@example.ec", "not her password")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


def test_an_unknown_email_is_refused_like_a_wrong_password(api_client: APIClient, db: None) -> None:
    response = _login(api_client, "nobody@example.ec")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


def test_a_refresh_returns_a_new_pair_and_uses_up_the_old_refresh_token(
    api_client: APIClient, alice: Any
) -> None:
    first = _login(api_client, "alice@example.ec").json()

    second = api_client.post(REFRESH, {"refresh_token": first["refresh_token"]}, format="json")

    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert _me(second.json()["access_token"]).status_code == 200
    # The first access token stays valid until it expires: rotation alone revokes nothing.
    assert _me(first["access_token"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(api_client: APIClient, alice: Any) -> None:
    first = _login(api_client, "alice@example.ec").json()
    second = api_client.post(REFRESH, {"refresh_token": first["refresh_token"]}, format="json").json()
    other_login = _login(api_client, "alice@example.ec").json()

    reuse = api_client.post(REFRESH, {"refresh_token": first["refresh_token"]}, format="json")

    assert reuse.status_code == 401
    assert reuse.json()["error"] == "token_reused"
    newest = api_client.post(REFRESH, {"refresh_token": second["refresh_token"]}, format="json")
    assert newest.status_code == 401
    assert _me(second["access_token"]).status_code == 401
    assert _me(first["access_token"]).status_code == 401
    # Another login (another family) of Alice is not touched.
    assert _me(other_login["access_token"]).status_code == 200
    assert AuditEvent.objects.filter(kind="token_reused", user=alice).exists()


def test_logout_revokes_the_family_and_the_presented_access_token(api_client: APIClient, alice: Any) -> None:
    tokens = _login(api_client, "alice@example.ec").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    response = api_client.post(LOGOUT, {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 204
    assert _me(tokens["access_token"]).status_code == 401
    again = APIClient().post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_token"


def test_logout_with_an_unknown_refresh_token_is_refused(api_client: APIClient, db: None) -> None:
    response = api_client.post(LOGOUT, {"refresh_token": "made-up"}, format="json")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_a_deactivated_user_cannot_refresh(api_client: APIClient, alice: Any) -> None:
    tokens = _login(api_client, "alice@example.ec").json()
    alice.is_active = False
    alice.save()

    response = api_client.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 401
