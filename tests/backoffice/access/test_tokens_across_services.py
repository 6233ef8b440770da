"""A token from identity is trusted by another service that only knows identity's JWKS URL."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils import timezone

from backoffice.access.revocation import RedisRevocationChecker
from backoffice.access.verifier import InvalidToken, TokenVerifier
from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "support"])


@pytest.fixture
def identity_url(live_server: Any, settings: Any) -> str:
    """Identity served over HTTP; the back-office verifies tokens with the JWKS it fetches from there."""
    settings.ENLACE_VERIFY_WITH_LOCAL_KEYS = False
    settings.ENLACE_JWKS_URL = live_server.url + "/.well-known/jwks.json"
    return str(live_server.url)


def _login(identity_url: str, email: str) -> dict[str, Any]:
    response = httpx.post(
        f"{identity_url}/api/identity/v1/token", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _tickets(identity_url: str, token: str) -> httpx.Response:
    return httpx.get(f"{identity_url}/api/support/v1/tickets", headers={"Authorization": f"Bearer {token}"})


def _verifier(identity_url: str) -> TokenVerifier:
    return TokenVerifier(
        jwks_url=identity_url + "/.well-known/jwks.json",
        issuer=settings.ENLACE_JWT_ISSUER,
        audience=settings.ENLACE_JWT_AUDIENCE,
        revocation=RedisRevocationChecker(
            settings.REDIS_URL, key_prefix=settings.CACHES["tokens"]["KEY_PREFIX"]
        ),
    )


def test_a_login_token_verifies_through_jwks_fetched_over_http(identity_url: str, alice: Any) -> None:
    tokens = _login(identity_url, "alice@example.ec")

    principal = _verifier(identity_url).verify(tokens["access_token"])

    assert principal.user_id == alice.pk
    assert principal.roles == frozenset({"subscriber"})
    assert principal.client_id == 1
    assert not principal.is_service
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == settings.ENLACE_ACCESS_TOKEN_SECONDS
    assert _tickets(identity_url, tokens["access_token"]).status_code == 200


def test_an_expired_token_is_refused_by_the_support_service(identity_url: str, alice: Any) -> None:
    tokens = _login(identity_url, "alice@example.ec")

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = _tickets(identity_url, tokens["access_token"])
        with pytest.raises(InvalidToken, match="expired"):
            _verifier(identity_url).verify(tokens["access_token"])

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_token_is_refused(identity_url: str, alice: Any) -> None:
    token = _login(identity_url, "alice@example.ec")["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"

    assert _tickets(identity_url, forged).status_code == 401
    with pytest.raises(InvalidToken, match="signature"):
        _verifier(identity_url).verify(forged)


def test_a_token_signed_by_another_key_under_identitys_kid_is_refused(identity_url: str, alice: Any) -> None:
    genuine = _login(identity_url, "alice@example.ec")["access_token"]
    kid = jwt.get_unverified_header(genuine)["kid"]
    claims = jwt.decode(genuine, options={"verify_signature": False})
    intruder_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({**claims, "roles": ["admin"]}, intruder_key, algorithm="RS256", headers={"kid": kid})

    assert _tickets(identity_url, forged).status_code == 401
    with pytest.raises(InvalidToken, match="signature"):
        _verifier(identity_url).verify(forged)


def test_an_access_token_is_refused_everywhere_after_logout(identity_url: str, alice: Any) -> None:
    tokens = _login(identity_url, "alice@example.ec")
    assert _tickets(identity_url, tokens["access_token"]).status_code == 200

    logout = httpx.post(
        f"{identity_url}/api/identity/v1/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )

    assert logout.status_code == 204
    assert _tickets(identity_url, tokens["access_token"]).status_code == 401
    with pytest.raises(InvalidToken, match="revoked"):
        _verifier(identity_url).verify(tokens["access_token"])
    refresh = httpx.post(
        f"{identity_url}/api/identity/v1/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    assert refresh.json()["error"] == "invalid_token"


def test_a_token_from_another_issuer_is_refused(identity_url: str, alice: Any) -> None:
    token = _login(identity_url, "alice@example.ec")["access_token"]
    verifier = TokenVerifier(
        jwks_url=identity_url + "/.well-known/jwks.json",
        issuer="someone-else",
        audience=settings.ENLACE_JWT_AUDIENCE,
        revocation=None,
    )

    with pytest.raises(InvalidToken, match="issuer"):
        verifier.verify(token)
