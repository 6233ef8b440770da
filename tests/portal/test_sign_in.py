"""Signing in, staying signed in and signing out through the portal, against a real identity.

The demo subscriber (Alice Subscriber) signs in; the demo agent changes a password.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts import SESSION_TOKENS, SESSION_USER
from portal.identity_client import (
    IdentityClient,
    IdentityUnavailable,
    InvalidCredentials,
    Throttled,
    TokenRejected,
)
from tests.fixtures.kafka import free_port
from tests.portal.identity_server import DEMO_PASSWORD, IdentityServer

SUBSCRIBER = "subscriber@enlace.demo"
_addresses = itertools.count(10)


def _address() -> str:
    """A fresh client address per test, so identity's per-address throttle never spills over."""
    return f"198.51.100.{next(_addresses)}"


def _signed_in(email: str = SUBSCRIBER, password: str = DEMO_PASSWORD) -> Client:
    client = Client(REMOTE_ADDR=_address())
    response = client.post(reverse("portal:sign-in"), {"email": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def _tokens(client: Client) -> dict[str, Any]:
    return dict(client.session[SESSION_TOKENS])


def _set_tokens(client: Client, **changes: Any) -> None:
    session = client.session
    session[SESSION_TOKENS] = {**session[SESSION_TOKENS], **changes}
    session.save()


def test_signing_in_shows_the_dashboard_with_the_user_identity_knows(identity: IdentityServer) -> None:
    client = Client(REMOTE_ADDR=_address())
    response = client.post(reverse("portal:sign-in"), {"email": SUBSCRIBER, "password": DEMO_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")
    assert response.cookies["enlace_language"].value == "es"
    dashboard = client.get(reverse("portal:dashboard"))
    assert dashboard.status_code == 200
    page = dashboard.content.decode()
    assert "Hola, Alice Subscriber" in page
    assert 'ws-connect="/ws/notifications/"' in page
    assert "htmx-2.min.js" in page and "hx-ws-2.min.js" in page


def test_the_session_keeps_tokens_but_never_the_password(identity: IdentityServer) -> None:
    client = _signed_in()
    stored = repr(dict(client.session.items()))
    assert DEMO_PASSWORD not in stored
    assert client.session[SESSION_USER]["email"] == SUBSCRIBER
    assert set(_tokens(client)) == {"access", "refresh", "access_expires_at"}


def test_a_wrong_password_is_shown_in_place_of_the_form(identity: IdentityServer) -> None:
    client = Client(REMOTE_ADDR=_address())
    response = client.post(
        reverse("portal:sign-in"), {"email": SUBSCRIBER, "password": "not-it"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert 'id="sign-in-form"' in fragment
    assert "El correo o la contraseña son incorrectos." in fragment


def test_too_many_attempts_say_how_long_to_wait(identity: IdentityServer) -> None:
    client = Client(REMOTE_ADDR=_address())
    for _ in range(30):
        response = client.post(
            reverse("portal:sign-in"),
            {"email": "nobody@enlace.demo", "password": "guess"},
            headers={"HX-Request": "true"},
        )
        if "Demasiados intentos" in response.content.decode():
            break
    else:
        pytest.fail("identity never throttled 30 failed sign-ins")
    assert "Inténtalo de nuevo en" in response.content.decode()


def test_an_access_token_about_to_expire_is_refreshed_before_the_call(identity: IdentityServer) -> None:
    client = _signed_in()
    before = _tokens(client)
    _set_tokens(client, access_expires_at=0)

    assert client.get(reverse("portal:dashboard")).status_code == 200

    after = _tokens(client)
    assert after["access"] != before["access"]
    assert after["refresh"] != before["refresh"]


def test_an_access_token_identity_refuses_is_refreshed_and_the_call_retried(identity: IdentityServer) -> None:
    client = _signed_in()
    _set_tokens(client, access="not-a-token")

    response = client.get(reverse("portal:dashboard"))

    assert response.status_code == 200
    assert "Alice Subscriber" in response.content.decode()
    assert _tokens(client)["access"] != "not-a-token"


def test_when_identity_refuses_the_refresh_the_user_signs_in_again_with_a_message(
    identity: IdentityServer,
) -> None:
    client = _signed_in()
    _set_tokens(client, access_expires_at=0, refresh="revoked")

    response = client.get(reverse("portal:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:sign-in") + "?next=")
    sign_in = client.get(response["Location"])
    assert "Tu sesión terminó. Vuelve a iniciar sesión." in sign_in.content.decode()
    assert SESSION_USER not in client.session


def test_signing_out_revokes_the_session_at_identity(identity: IdentityServer) -> None:
    client = _signed_in()
    refresh = _tokens(client)["refresh"]

    response = client.post(reverse("portal:sign-out"))

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:sign-in")
    assert client.get(reverse("portal:dashboard")).status_code == 302
    with pytest.raises(TokenRejected):
        IdentityClient(identity.url).token_refresh(refresh_token=refresh)


def test_signing_out_needs_a_post(identity: IdentityServer) -> None:
    assert _signed_in().get(reverse("portal:sign-out")).status_code == 405


@pytest.mark.parametrize("page", ["portal:dashboard", "portal:password-change"])
def test_account_pages_send_an_anonymous_browser_to_sign_in(page: str) -> None:
    response = Client().get(reverse(page))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portal:sign-in')}?next={reverse(page).replace('/', '%2F')}"


def test_a_password_changed_through_the_portal_is_the_one_identity_accepts(identity: IdentityServer) -> None:
    agent = "agent@enlace.demo"
    new_password = "Otra-Clave-Segura-2026"
    client = _signed_in(agent)
    change = reverse("portal:password-change")
    form = {
        "current_password": DEMO_PASSWORD,
        "new_password": new_password,
        "new_password_confirm": new_password,
    }
    try:
        response = client.post(change, form, headers={"HX-Request": "true"})
        assert "Tu contraseña fue cambiada." in response.content.decode()
        identity_client = IdentityClient(identity.url)
        with pytest.raises(InvalidCredentials):
            identity_client.token_obtain(email=agent, password=DEMO_PASSWORD, client_ip=_address())
        identity_client.token_obtain(email=agent, password=new_password, client_ip=_address())
    finally:
        again = _signed_in(agent, new_password)
        again.post(
            change,
            {
                "current_password": new_password,
                "new_password": DEMO_PASSWORD,
                "new_password_confirm": DEMO_PASSWORD,
            },
        )


def test_a_wrong_current_password_is_shown_on_the_change_form(identity: IdentityServer) -> None:
    client = _signed_in("billing@enlace.demo")
    form = {
        "current_password": "wrong",
        "new_password": "Nueva-Clave-2026!",
        "new_password_confirm": "Nueva-Clave-2026!",
    }
    response = client.post(reverse("portal:password-change"), form, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert (
        'class="field-error"' in response.content.decode()
        or 'class="alert error"' in response.content.decode()
    )


def test_the_forgotten_password_page_never_says_whether_the_account_exists(identity: IdentityServer) -> None:
    client = Client(REMOTE_ADDR=_address())
    known = client.post(
        reverse("portal:password-forgot"), {"email": SUBSCRIBER}, headers={"HX-Request": "true"}
    )
    unknown = client.post(
        reverse("portal:password-forgot"), {"email": "x@nowhere.ec"}, headers={"HX-Request": "true"}
    )
    assert known.content == unknown.content
    assert "Si alguna cuenta usa ese correo" in known.content.decode()


def test_a_reset_link_with_a_bad_token_says_so(identity: IdentityServer) -> None:
    form = {"new_password": "Nueva-Clave-2026!", "new_password_confirm": "Nueva-Clave-2026!"}
    response = Client().post(reverse("portal:password-reset", args=["not-a-token"]), form)
    assert response.status_code == 200
    assert "Tu contraseña fue cambiada" not in response.content.decode()
    assert "error" in response.content.decode()


def test_the_client_raises_identity_unavailable_when_nothing_listens() -> None:
    client = IdentityClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(IdentityUnavailable):
        client.token_obtain(email=SUBSCRIBER, password=DEMO_PASSWORD, client_ip=None)


def test_the_client_raises_throttled_with_the_wait(identity: IdentityServer) -> None:
    client = IdentityClient(identity.url)
    address = _address()
    with pytest.raises(Throttled) as caught:
        for _ in range(30):
            try:
                client.token_obtain(email="nobody2@enlace.demo", password="guess", client_ip=address)
            except InvalidCredentials:
                continue
    assert caught.value.retry_after > 0


def test_one_address_failing_twenty_times_does_not_lock_out_subscribers_elsewhere(
    identity: IdentityServer,
) -> None:
    # Mallory tries twenty accounts from her address; identity sees her address, not the
    # portal's, because the portal forwards it and identity trusts the portal as a proxy.
    mallory = Client(REMOTE_ADDR=_address())
    for n in range(20):
        mallory.post(reverse("portal:sign-in"), {"email": f"guess{n}@enlace.demo", "password": "guess"})
    refused = mallory.post(
        reverse("portal:sign-in"),
        {"email": SUBSCRIBER, "password": DEMO_PASSWORD},
        headers={"HX-Request": "true"},
    )

    elsewhere = Client(REMOTE_ADDR=_address())
    response = elsewhere.post(reverse("portal:sign-in"), {"email": SUBSCRIBER, "password": DEMO_PASSWORD})

    assert "Demasiados intentos" in refused.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")


def test_a_forged_x_forwarded_for_does_not_move_the_browser_to_another_address(
    identity: IdentityServer,
) -> None:
    # The portal trusts no proxy here (ENLACE_PORTAL_TRUSTED_PROXIES=0): a browser naming a new
    # address on each try is still counted at its own.
    mallory_address = _address()
    for n in range(20):
        Client(REMOTE_ADDR=mallory_address, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").post(
            reverse("portal:sign-in"), {"email": f"forged{n}@enlace.demo", "password": "guess"}
        )

    response = Client(REMOTE_ADDR=mallory_address, HTTP_X_FORWARDED_FOR="203.0.113.99").post(
        reverse("portal:sign-in"),
        {"email": SUBSCRIBER, "password": DEMO_PASSWORD},
        headers={"HX-Request": "true"},
    )

    assert "Demasiados intentos" in response.content.decode()
