"""No OAuth2 side door: only authorize, token and revoke are served; no password or implicit grant;
an app's refresh tokens rotate, expire, die when reused and with the user's other sessions.

Cast: Alice (subscriber) and Nora (noc) use "Mi Barrio", a third-party app; Ada is an admin.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

from backoffice.identity import emails
from tests.backoffice.conftest import PASSWORD
from tests.backoffice.oauth_flow import (
    REDIRECT_URI,
    TOKEN_URL,
    app_register,
    authorize_url,
    bearer,
    consent,
    pkce_pair,
    redirect_params,
    refresh,
    service_create,
)

pytestmark = pytest.mark.django_db(databases=["default", "network", "support"])

NEW_PASSWORD = "una clave nueva y larga 2026"


@pytest.fixture
def mi_barrio() -> Application:
    return app_register("Mi Barrio", ["support.read", "network.read"])


def _signed_in(user: Any) -> Client:
    browser = Client()
    assert browser.post("/accounts/signin/", {"email": user.email, "password": PASSWORD}).status_code == 302
    return browser


@pytest.mark.parametrize(
    "url",
    [
        "/o/applications/",
        "/o/applications/register/",
        "/o/applications/1/",
        "/o/applications/1/update/",
        "/o/applications/1/delete/",
        "/o/authorized_tokens/",
        "/o/authorized_tokens/1/delete/",
        "/o/introspect/",
        "/o/userinfo/",
        "/o/.well-known/openid-configuration",
        "/o/.well-known/oauth-authorization-server",
        "/o/register/",
        "/o/device-authorization/",
    ],
)
def test_dots_registration_and_management_pages_do_not_exist_for_a_signed_in_subscriber(
    url: str, alice: Any
) -> None:
    browser = _signed_in(alice)

    assert browser.get(url).status_code == 404
    assert browser.post(url, {"name": "evil", "client_type": "public"}).status_code == 404
    assert not Application.objects.filter(name="evil").exists()


def test_apps_are_registered_only_in_the_admin_which_a_subscriber_cannot_enter(alice: Any) -> None:
    browser = _signed_in(alice)

    response = browser.get("/admin/oauth2_provider/application/add/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_password_grant_is_refused_even_for_an_app_registered_for_it(alice: Any) -> None:
    app = Application.objects.create(
        name="Legacy",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
        client_secret="legacy-secret",
    )
    basic = base64.b64encode(f"{app.client_id}:legacy-secret".encode()).decode()

    response = APIClient().post(
        TOKEN_URL,
        {"grant_type": "password", "username": alice.email, "password": PASSWORD},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert "access_token" not in response.json()
    assert not AccessToken.objects.exists()


def test_the_implicit_grant_is_refused_even_for_an_app_registered_for_it(alice: Any) -> None:
    app = Application.objects.create(
        name="Old SPA",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_IMPLICIT,
        redirect_uris=REDIRECT_URI,
    )
    _verifier, challenge = pkce_pair()
    browser = _signed_in(alice)
    url = authorize_url(app, "support.read", challenge, response_type="token")

    response = browser.get(url)
    # An app that skips the consent page and posts "Allow" itself fares no better.
    posted = browser.post(
        url,
        {
            "allow": "on",
            "response_type": "token",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "support.read",
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )

    assert redirect_params(response)["error"] == "unsupported_response_type"
    assert "access_token" not in response["Location"]
    assert redirect_params(posted)["error"] == "unsupported_response_type"
    assert "access_token" not in posted["Location"]
    assert not AccessToken.objects.exists()


def test_a_refresh_rotates_the_refresh_token(mi_barrio: Application, alice: Any) -> None:
    first = consent(mi_barrio, alice, "support.read")

    renewed = refresh(mi_barrio, first["refresh_token"])

    assert renewed.status_code == 200, renewed.content
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    assert bearer(renewed.json()["access_token"]).get("/api/support/v1/tickets").status_code == 200


def test_a_reused_refresh_token_revokes_its_whole_family(mi_barrio: Application, alice: Any) -> None:
    first = consent(mi_barrio, alice, "support.read")
    second = refresh(mi_barrio, first["refresh_token"]).json()
    assert bearer(second["access_token"]).get("/api/support/v1/tickets").status_code == 200

    replayed = refresh(mi_barrio, first["refresh_token"])

    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    newest = refresh(mi_barrio, second["refresh_token"])
    assert newest.status_code == 400
    assert newest.json()["error"] == "invalid_grant"
    assert bearer(second["access_token"]).get("/api/support/v1/tickets").status_code == 401


def test_a_refresh_token_expires(mi_barrio: Application, alice: Any) -> None:
    tokens = consent(mi_barrio, alice, "support.read")
    lifetime = settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"] + settings.ENLACE_REFRESH_TOKEN_SECONDS

    with time_machine.travel(timezone.now() + timedelta(seconds=lifetime + 1)):
        response = refresh(mi_barrio, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_deactivated_users_refresh_is_refused(mi_barrio: Application, alice: Any) -> None:
    tokens = consent(mi_barrio, alice, "support.read")
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    response = refresh(mi_barrio, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert bearer(tokens["access_token"]).get("/api/support/v1/tickets").status_code == 401


def _reset_password(user: Any) -> None:
    """Alice's way back in when she forgot her password: the e-mailed link, then a new password."""
    api = APIClient()
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert (
            api.post("/api/identity/v1/password/reset", {"email": user.email}, format="json").status_code
            == 202
        )
    # The reset e-mail goes out from identity's background sender, off the request path.
    assert emails.outgoing_wait(timeout=10)
    match = re.search(r"/password/reset/([^/\s]+)/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    confirmed = api.post(
        "/api/identity/v1/password/reset/confirm",
        {"token": match.group(1), "new_password": NEW_PASSWORD},
        format="json",
    )
    assert confirmed.status_code == 204, confirmed.content


def test_after_a_password_reset_the_apps_tokens_are_refused_by_identity_and_the_network_api(
    mi_barrio: Application, nora: Any
) -> None:
    service = service_create(subscription_id=7001, client_id=1)
    tokens = consent(mi_barrio, nora, "network.read")
    app = bearer(tokens["access_token"])
    assert app.get(f"/api/network/v1/services/{service.subscription_id}/").status_code == 200

    _reset_password(nora)

    refreshed = refresh(mi_barrio, tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    assert app.get(f"/api/network/v1/services/{service.subscription_id}/").status_code == 401
    assert app.get("/api/identity/v1/me").status_code == 401


def test_after_a_password_change_the_apps_tokens_are_refused(
    mi_barrio: Application, nora: Any, client_as: Any
) -> None:
    service = service_create(subscription_id=7002, client_id=1)
    tokens = consent(mi_barrio, nora, "network.read")

    changed = client_as(nora).post(
        "/api/identity/v1/password/change",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert changed.status_code == 204, changed.content
    assert refresh(mi_barrio, tokens["refresh_token"]).status_code == 400
    app = bearer(tokens["access_token"])
    assert app.get(f"/api/network/v1/services/{service.subscription_id}/").status_code == 401
