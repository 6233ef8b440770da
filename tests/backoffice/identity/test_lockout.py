"""Brute-force protection: per account and per client IP, with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from backoffice.identity.models import AuditEvent
from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/identity/v1/token"
RESET = "/api/identity/v1/password/reset"


def _attempt(client: APIClient, email: str, password: str, ip: str = "203.0.113.7") -> Any:
    return client.post(TOKEN, {"email": email, "password": password}, format="json", HTTP_X_FORWARDED_FOR=ip)


def test_after_five_failures_alice_is_locked_out_even_with_the_right_password(
    api_client: APIClient, alice: Any
) -> None:
    for _ in range(5):
        assert _attempt(api_client, "alice@example.ec", "guess").status_code == 401

    wrong = _attempt(api_client, "alice@example.ec", "guess")
    right = _attempt(api_client, "alice@example.ec", PASSWORD, ip="198.51.100.9")

    assert wrong.status_code == 429
    assert right.status_code == 429
    assert 0 < int(right["Retry-After"]) <= 15 * 60
    assert right.json()["error"] == "locked_out"
    assert AuditEvent.objects.filter(kind="login_failed", email="alice@example.ec").count() == 5
    lockout = AuditEvent.objects.get(kind="lockout")
    assert lockout.user == alice
    assert lockout.ip_address == "203.0.113.7"
    assert lockout.detail["scope"] == "account"


def test_four_failures_do_not_lock_alice_out(api_client: APIClient, alice: Any) -> None:
    for _ in range(4):
        _attempt(api_client, "alice@example.ec", "guess")

    assert _attempt(api_client, "alice@example.ec", PASSWORD).status_code == 200


def test_twenty_failures_from_one_ip_across_accounts_lock_that_ip(
    api_client: APIClient, alice: Any, charlie: Any
) -> None:
    for n in range(20):
        assert _attempt(api_client, f"victim{n}@example.ec", "guess").status_code == 401

    from_that_ip = _attempt(api_client, "charlie@example.ec", PASSWORD)
    from_elsewhere = _attempt(api_client, "charlie@example.ec", PASSWORD, ip="198.51.100.20")

    assert from_that_ip.status_code == 429
    assert int(from_that_ip["Retry-After"]) > 0
    assert from_elsewhere.status_code == 200
    assert AuditEvent.objects.filter(kind="lockout", detail__scope="ip", ip_address="203.0.113.7").exists()


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(api_client: APIClient, alice: Any) -> None:
    for n in range(5):
        api_client.post(
            TOKEN,
            {"email": "alice@example.ec", "password": "guess"},
            format="json",
            REMOTE_ADDR="192.0.2.50",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )

    event = AuditEvent.objects.filter(kind="login_failed").first()
    assert event is not None
    assert event.ip_address == "192.0.2.50"


def test_a_forged_x_forwarded_for_from_an_untrusted_peer_neither_locks_nor_unlocks(
    api_client: APIClient, charlie: Any
) -> None:
    # Mallory (192.0.2.50) claims a new address on every try: it is her own that gets locked.
    for n in range(20):
        api_client.post(
            TOKEN,
            {"email": f"victim{n}@example.ec", "password": "guess"},
            format="json",
            REMOTE_ADDR="192.0.2.50",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    mallory = api_client.post(
        TOKEN,
        {"email": "charlie@example.ec", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="192.0.2.50",
        HTTP_X_FORWARDED_FOR="198.51.100.200",
    )
    forged_victim = _attempt(api_client, "charlie@example.ec", PASSWORD, ip="198.51.100.3")

    assert mallory.status_code == 429
    assert forged_victim.status_code == 200
    assert set(AuditEvent.objects.filter(kind="login_failed").values_list("ip_address", flat=True)) == {
        "192.0.2.50"
    }


def test_password_reset_requests_do_not_count_toward_the_sign_in_lockout(
    api_client: APIClient, alice: Any
) -> None:
    for _ in range(5):
        api_client.post(
            RESET, {"email": "alice@example.ec"}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.7"
        )
    for n in range(15):
        api_client.post(
            RESET, {"email": f"other{n}@example.ec"}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.7"
        )
    for _ in range(4):
        _attempt(api_client, "alice@example.ec", "guess")

    assert api_client.post(RESET, {"email": "alice@example.ec"}, format="json").status_code == 429
    assert _attempt(api_client, "alice@example.ec", PASSWORD).status_code == 200
