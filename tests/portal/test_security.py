"""Security headers and CSRF on the portal's pages."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse


def test_pages_carry_the_security_headers() -> None:
    response = Client().get(reverse("portal:sign-in"))
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_session_cookie_is_http_only_and_same_site() -> None:
    client = Client()
    client.get(reverse("portal:sign-in"))
    response = client.post(reverse("portal:sign-in"), {"email": "", "password": ""})
    assert response.status_code == 200
    cookie = response.cookies.get("csrftoken") or client.cookies["csrftoken"]
    assert cookie["samesite"] == "Lax"


def test_a_post_without_the_csrf_token_is_refused() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("portal:sign-in"), {"email": "a@b.ec", "password": "x"})
    assert response.status_code == 403


def test_forms_carry_the_csrf_token_and_htmx_sends_it_as_a_header() -> None:
    page = Client().get(reverse("portal:sign-in")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


def test_the_language_switch_turns_the_page_to_english() -> None:
    client = Client()
    assert "Iniciar sesión" in client.get(reverse("portal:sign-in")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": reverse("portal:sign-in")})
    assert "Sign in to your account" in client.get(reverse("portal:sign-in")).content.decode()
