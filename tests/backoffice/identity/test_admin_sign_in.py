"""The admin's sign-in page obeys identity's rules: lockout, audit log, 429 with the wait time.

Ada is an admin; Alice a subscriber who has no business in the admin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from backoffice.identity.models import AuditEvent
from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def _sign_in(client: Client, password: str, email: str = "ada@enlace.test") -> Any:
    return client.post(LOGIN, {"username": email, "password": password, "next": "/admin/"})


def test_ada_signs_in_to_the_admin_and_the_audit_log_says_so(ada: Any) -> None:
    client = Client()
    response = _sign_in(client, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    event = AuditEvent.objects.get(kind="login_succeeded", user=ada)
    assert event.detail == {"via": "admin"}


def test_after_five_wrong_passwords_the_right_one_is_refused_with_the_wait_time(ada: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(5):
        wrong = _sign_in(client, "guess")
        assert wrong.status_code == 200
        assert "The e-mail or the password is not correct." in wrong.content.decode()

    right = _sign_in(client, PASSWORD)

    assert right.status_code == 429
    assert 14 * 60 < int(right["Retry-After"]) <= 15 * 60
    assert "Too many failed attempts. Try again in 15 minutes." in right.content.decode()
    assert client.get("/admin/").status_code == 302  # still not signed in
    attempts = AuditEvent.objects.filter(email="ada@enlace.test").order_by("id")
    assert [event.kind for event in attempts] == ["login_failed"] * 5 + ["lockout"]
    assert all(event.ip_address == "127.0.0.1" for event in attempts)


def test_failures_on_the_api_and_on_the_admin_count_together(api_client: Any, ada: Any) -> None:
    for _ in range(3):
        api_client.post("/api/identity/v1/token", {"email": ada.email, "password": "guess"}, format="json")
    for _ in range(2):
        _sign_in(Client(), "guess")

    assert _sign_in(Client(), PASSWORD).status_code == 429


def test_a_locked_out_admin_signs_in_again_once_the_window_is_over(ada: Any) -> None:
    for _ in range(5):
        _sign_in(Client(), "guess")
    assert _sign_in(Client(), PASSWORD).status_code == 429

    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=1)):
        response = _sign_in(Client(), PASSWORD)

    assert response.status_code == 302


def test_the_unlock_action_lets_a_locked_out_account_sign_in_at_once(ada: Any, alice: Any) -> None:
    ada.is_superuser = True
    ada.save(update_fields=["is_superuser"])
    for _ in range(5):
        _sign_in(Client(), "guess", email="alice@example.ec")
    admin = Client()
    assert _sign_in(admin, PASSWORD).status_code == 302

    response = admin.post(
        "/admin/identity/user/",
        {"action": "sign_in_unlock", "_selected_action": [alice.pk]},
        follow=True,
    )

    assert response.status_code == 200
    token = Client().post(
        "/api/identity/v1/token",
        {"email": "alice@example.ec", "password": PASSWORD},
        content_type="application/json",
    )
    assert token.status_code == 200
    unlocked = AuditEvent.objects.get(kind="unlocked")
    assert unlocked.user == alice
    assert unlocked.detail["by"] == "ada@enlace.test"
    assert unlocked.detail["was_locked"] is True


def test_the_unlock_command_lifts_an_account_and_an_address(ada: Any) -> None:
    for n in range(20):
        Client(REMOTE_ADDR="192.0.2.66").post(LOGIN, {"username": f"nobody{n}@example.ec", "password": "x"})
    for _ in range(5):
        _sign_in(Client(), "guess")
    assert _sign_in(Client(REMOTE_ADDR="192.0.2.66"), PASSWORD).status_code == 429

    call_command("unlock_sign_in", "--email", "ADA@enlace.test", "--ip", "192.0.2.66")

    assert _sign_in(Client(REMOTE_ADDR="192.0.2.66"), PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(kind="unlocked").count() == 2


def test_a_subscriber_with_the_right_password_does_not_get_into_the_admin(alice: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = _sign_in(client, PASSWORD, email="alice@example.ec")

    assert response.status_code == 200
    assert "This account cannot use the administration site." in response.content.decode()
    assert client.get("/admin/").status_code == 302
    event = AuditEvent.objects.get(kind="login_failed", user=alice)
    assert event.detail == {"via": "admin", "reason": "not_staff"}
