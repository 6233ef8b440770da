"""A third-party app's side of OAuth2 against identity, over HTTP: register (as staff would, in the
admin's tables), send the user through sign-in and consent, exchange the code, refresh, revoke."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from django.test import Client
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from backoffice.identity.models import OAuthClientScopes
from tests.backoffice.conftest import PASSWORD

REDIRECT_URI = "https://mibarrio.example/callback"
TOKEN_URL = "/o/token/"


def app_register(name: str, scopes: list[str]) -> Application:
    """A public (browser or mobile) app using the authorization code grant, granted ``scopes``."""
    app = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        algorithm="",
    )
    OAuthClientScopes.objects.create(application=app, scopes=scopes)
    return app


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(app: Application, scope: str, challenge: str, **overrides: str) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "xyz",
        **overrides,
    }
    return "/o/authorize/?" + urlencode(params)


def redirect_params(response: Any) -> dict[str, str]:
    """The query (or fragment) parameters of a redirect back to the app."""
    assert response.status_code == 302, response.content
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    raw = location.query or location.fragment
    return {key: values[0] for key, values in parse_qs(raw).items()}


def consent(app: Application, user: Any, scope: str) -> dict[str, Any]:
    """``user`` signs in, allows ``app`` what it asks; returns the token answer of the code exchange."""
    browser = Client()
    signed_in = browser.post("/accounts/signin/", {"email": user.email, "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.content
    verifier, challenge = pkce_pair()
    url = authorize_url(app, scope, challenge)
    page = browser.get(url)
    assert page.status_code == 200, page.content
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["allow"] = "on"
    code = redirect_params(browser.post(url, data))["code"]
    exchanged = APIClient().post(
        TOKEN_URL,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
    )
    assert exchanged.status_code == 200, exchanged.content
    return dict(exchanged.json())


def refresh(app: Application, refresh_token: str) -> Any:
    return APIClient().post(
        TOKEN_URL, {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.client_id}
    )


def revoke(app: Application, token: str, hint: str = "access_token") -> Any:
    return APIClient().post(
        "/o/revoke_token/", {"token": token, "token_type_hint": hint, "client_id": app.client_id}
    )


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def service_create(*, subscription_id: int, client_id: int) -> Any:
    """An active internet service of ``client_id`` on a router, as the network database holds it."""
    from backoffice.network.models import Router, Service, ServiceStatus

    router, _ = Router.objects.get_or_create(
        name="torre-norte", defaults={"host": "10.0.0.1", "username": "enlace"}
    )
    return Service.objects.create(
        subscription_id=subscription_id,
        client_id=client_id,
        router=router,
        pppoe_username=f"cliente{subscription_id}",
        pppoe_password="pppoe-pass",
        address=f"10.99.0.{subscription_id % 250 + 2}",
        plan_code="hogar-20",
        download="20M",
        upload="5M",
        status=ServiceStatus.ACTIVE,
        revision=1,
        applied_revision=1,
    )
