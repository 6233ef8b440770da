"""OAuth2 authorization code + PKCE (S256): a third-party app acts for Alice with what she allowed.

Cast: Alice (subscriber) signs in on identity's page and consents; "Mi Barrio", a third-party
app granted ``support.read`` only, asks for her tickets.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.conf import settings
from django.test import Client
from oauth2_provider.models import Application, Grant
from rest_framework.test import APIClient

from backoffice.access.verifier import TokenVerifier
from backoffice.identity import keys
from backoffice.identity.models import AuditEvent, OAuthClientScopes
from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "support"])

REDIRECT_URI = "https://mibarrio.example/callback"
SIGNIN = "/accounts/signin/"


def _verifier_and_challenge() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@pytest.fixture
def app() -> Application:
    """A public (browser or mobile) third-party app: PKCE instead of a client secret."""
    application = Application.objects.create(
        name="Mi Barrio",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        algorithm="",
    )
    OAuthClientScopes.objects.create(application=application, scopes=["support.read"])
    return application


@pytest.fixture
def browser() -> Client:
    return Client()


def _authorize_url(app: Application, challenge: str, **overrides: str) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "support.read",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "xyz",
        **overrides,
    }
    return "/o/authorize/?" + urlencode(params)


def _sign_in(browser: Client, email: str, password: str, next_url: str = "", **extra: Any) -> Any:
    data = {"email": email, "password": password}
    if next_url:
        data["next"] = next_url
    return browser.post(SIGNIN, data, **extra)


def _allow(browser: Client, authorize_url: str, **form_overrides: str) -> Any:
    """Opens the consent page and presses "Allow", posting back the form the page carried."""
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.content
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(allow="on", **form_overrides)
    return browser.post(authorize_url, data)


def _redirect_params(response: Any) -> dict[str, str]:
    assert response.status_code == 302, response.content
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def _exchange(app: Application, code: str, code_verifier: str) -> Any:
    return APIClient().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": app.client_id,
            "code_verifier": code_verifier,
        },
    )


def _code_for(browser: Client, app: Application, alice: Any) -> tuple[str, str]:
    verifier, challenge = _verifier_and_challenge()
    _sign_in(browser, alice.email, PASSWORD)
    params = _redirect_params(_allow(browser, _authorize_url(app, challenge)))
    return params["code"], verifier


def test_alice_signs_in_consents_and_the_app_reads_her_tickets_with_an_rs256_jwt(
    browser: Client, app: Application, alice: Any
) -> None:
    verifier, challenge = _verifier_and_challenge()
    authorize_url = _authorize_url(app, challenge)

    to_signin = browser.get(authorize_url)
    assert to_signin.status_code == 302
    assert to_signin["Location"].startswith(SIGNIN + "?next=")
    signed_in = _sign_in(browser, alice.email, PASSWORD, next_url=authorize_url)
    assert signed_in.status_code == 302
    assert signed_in["Location"] == authorize_url
    params = _redirect_params(_allow(browser, authorize_url))
    assert params["state"] == "xyz"
    token_response = _exchange(app, params["code"], verifier)

    assert token_response.status_code == 200, token_response.content
    access_token = token_response.json()["access_token"]
    verifier_of_services = TokenVerifier(
        jwks=keys.public_jwks(), issuer=settings.ENLACE_JWT_ISSUER, audience=settings.ENLACE_JWT_AUDIENCE
    )
    principal = verifier_of_services.verify(access_token)
    assert principal.user_id == alice.pk
    assert principal.subject == str(alice.pk)
    assert "support.read" in principal.scopes
    assert principal.claims["azp"] == app.client_id
    tickets = APIClient()
    tickets.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert tickets.get("/api/support/v1/tickets").status_code == 200
    assert AuditEvent.objects.filter(kind="login_succeeded", user=alice, detail__via="web").exists()


def test_a_wrong_code_verifier_is_refused_with_invalid_grant(
    browser: Client, app: Application, alice: Any
) -> None:
    code, _verifier = _code_for(browser, app, alice)

    response = _exchange(app, code, secrets.token_urlsafe(48))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_code_cannot_be_used_twice(browser: Client, app: Application, alice: Any) -> None:
    code, verifier = _code_for(browser, app, alice)

    first = _exchange(app, code, verifier)
    second = _exchange(app, code, verifier)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_a_plain_code_challenge_is_refused_before_the_consent_page(
    browser: Client, app: Application, alice: Any
) -> None:
    verifier = secrets.token_urlsafe(48)
    _sign_in(browser, alice.email, PASSWORD)

    response = browser.get(_authorize_url(app, verifier, code_challenge_method="plain"))

    params = _redirect_params(response)
    assert params["error"] == "invalid_request"
    assert params["state"] == "xyz"
    assert not Grant.objects.exists()


def test_a_challenge_without_a_method_counts_as_plain_and_is_refused(
    browser: Client, app: Application, alice: Any
) -> None:
    _verifier, challenge = _verifier_and_challenge()
    _sign_in(browser, alice.email, PASSWORD)
    url = _authorize_url(app, challenge)

    response = browser.get(url.replace("&code_challenge_method=S256", ""))

    assert _redirect_params(response)["error"] == "invalid_request"


def test_a_request_without_a_code_challenge_is_refused(browser: Client, app: Application, alice: Any) -> None:
    _sign_in(browser, alice.email, PASSWORD)
    url = "/o/authorize/?" + urlencode(
        {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT_URI, "state": "xyz"}
    )

    assert _redirect_params(browser.get(url))["error"] == "invalid_request"


def test_a_scope_not_granted_to_the_app_is_refused_on_the_authorization_request(
    browser: Client, app: Application, alice: Any
) -> None:
    _verifier, challenge = _verifier_and_challenge()
    _sign_in(browser, alice.email, PASSWORD)

    response = browser.get(_authorize_url(app, challenge, scope="support.read support.write"))

    assert _redirect_params(response)["error"] == "invalid_scope"


def test_a_scope_added_to_the_consent_form_is_not_issued(
    browser: Client, app: Application, alice: Any
) -> None:
    _verifier, challenge = _verifier_and_challenge()
    _sign_in(browser, alice.email, PASSWORD)

    response = _allow(browser, _authorize_url(app, challenge), scope="support.read billing.write")

    params = _redirect_params(response)
    assert params["error"] == "invalid_scope"
    assert "code" not in params
    assert not Grant.objects.exists()


def test_denying_sends_the_app_back_with_access_denied(browser: Client, app: Application, alice: Any) -> None:
    _verifier, challenge = _verifier_and_challenge()
    _sign_in(browser, alice.email, PASSWORD)
    url = _authorize_url(app, challenge)
    form = browser.get(url).context["form"]

    response = browser.post(url, {name: form[name].value() or "" for name in form.fields})

    params = _redirect_params(response)
    assert params["error"] == "access_denied"
    assert params["state"] == "xyz"


def test_the_consent_page_is_in_spanish_and_lists_the_scopes_with_their_descriptions(
    browser: Client, app: Application, alice: Any
) -> None:
    _verifier, challenge = _verifier_and_challenge()
    _sign_in(browser, alice.email, PASSWORD)

    page = browser.get(_authorize_url(app, challenge))

    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="es">' in html
    assert "¿Permitir que «Mi Barrio» use tu cuenta?" in html
    assert "Ver los tickets de soporte" in html
    assert "support.read" in html
    assert "Permitir" in html


def test_the_consent_page_is_in_english_with_lang_en(browser: Client, app: Application, alice: Any) -> None:
    _verifier, challenge = _verifier_and_challenge()
    _sign_in(browser, alice.email, PASSWORD)

    page = browser.get(_authorize_url(app, challenge, lang="en"))

    html = page.content.decode()
    assert '<html lang="en">' in html
    assert "Allow “Mi Barrio” to use your account?" in html
    assert "See support tickets" in html


def test_the_sign_in_page_follows_accept_language_and_remembers_lang(browser: Client) -> None:
    default = browser.get(SIGNIN).content.decode()
    by_header = browser.get(SIGNIN, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    switched = browser.get(SIGNIN + "?lang=en")
    after_switch = browser.get(SIGNIN).content.decode()

    assert "Iniciar sesión en Enlace" in default
    assert "Sign in to Enlace" in by_header
    assert "Sign in to Enlace" in switched.content.decode()
    assert "Sign in to Enlace" in after_switch


def test_a_wrong_password_on_the_sign_in_page_is_shown_and_audited(browser: Client, alice: Any) -> None:
    response = _sign_in(browser, alice.email, "guess")

    assert response.status_code == 200
    assert "El correo o la contraseña no son correctos." in response.content.decode()
    assert AuditEvent.objects.filter(kind="login_failed", email=alice.email).count() == 1
    assert "_auth_user_id" not in browser.session


def test_five_failed_sign_ins_lock_alice_out_of_the_page_and_of_the_token_api(
    browser: Client, alice: Any
) -> None:
    for _ in range(5):
        assert _sign_in(browser, alice.email, "guess").status_code == 200

    locked = _sign_in(browser, alice.email, PASSWORD)
    token_api = APIClient().post(
        "/api/identity/v1/token", {"email": alice.email, "password": PASSWORD}, format="json"
    )

    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 15 * 60
    assert "Demasiados intentos fallidos. Inténtalo de nuevo en 15 minutos." in locked.content.decode()
    assert "_auth_user_id" not in browser.session
    assert token_api.status_code == 429
    assert AuditEvent.objects.filter(kind="lockout", user=alice).count() == 1


def test_signing_out_ends_the_session(browser: Client, alice: Any) -> None:
    _sign_in(browser, alice.email, PASSWORD)
    assert "_auth_user_id" in browser.session

    response = browser.post("/accounts/signout/")

    assert response.status_code == 302
    assert response["Location"] == SIGNIN
    assert "_auth_user_id" not in browser.session


def test_an_admins_token_for_an_app_reaches_only_what_its_scopes_allow(
    browser: Client, app: Application, ada: Any
) -> None:
    # Ada is an admin; the app was granted support.read only. Her roles must not leak to it.
    code, verifier = _code_for(browser, app, ada)
    access_token = _exchange(app, code, verifier).json()["access_token"]
    as_app = APIClient()
    as_app.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")

    assert as_app.get("/api/support/v1/tickets").status_code == 200
    assert as_app.get("/api/identity/v1/users").status_code == 403
    created = as_app.post(
        "/api/identity/v1/users", {"email": "mallory@enlace.test", "roles": ["admin"]}, format="json"
    )
    assert created.status_code == 403
    assert as_app.get("/api/network/v1/services/").status_code == 403


def test_the_same_admin_signed_in_directly_keeps_her_admin_rights(client_as: Any, ada: Any) -> None:
    assert client_as(ada).get("/api/identity/v1/users").status_code == 200
