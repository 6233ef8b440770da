"""Password recovery by e-mail: no account enumeration, single-use expiring links."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.identity import emails
from backoffice.identity.models import AuditEvent
from backoffice.messaging.models import OutboxMessage
from tests.backoffice.conftest import PASSWORD
from tests.backoffice.identity import held_mail

pytestmark = pytest.mark.django_db


def _post(client: APIClient, url: str, data: dict[str, Any], **extra: Any) -> Any:
    """POSTs, runs the on-commit callbacks the test's open transaction holds back and waits for
    the background sender to hand the queued e-mails to the mail backend."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(url, data, format="json", **extra)
    assert emails.outgoing_wait(timeout=10)
    return response


RESET = "/api/identity/v1/password/reset"
CONFIRM = "/api/identity/v1/password/reset/confirm"
NEW_PASSWORD = "una clave nueva y larga 2026"


def _reset_token() -> str:
    match = re.search(r"https://portal\.enlace\.test/password/reset/([^/\s]+)/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_the_answer_is_the_same_whether_or_not_the_account_exists(api_client: APIClient, alice: Any) -> None:
    known = _post(api_client, RESET, {"email": "alice@example.ec"})
    unknown = _post(api_client, RESET, {"email": "nobody@example.ec"})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.ec"]


def test_alice_gets_the_email_in_spanish_and_bob_in_english(
    api_client: APIClient, alice: Any, bob: Any
) -> None:
    _post(api_client, RESET, {"email": "alice@example.ec"})
    _post(api_client, RESET, {"email": "bob@enlace.test"})

    spanish, english = mail.outbox
    assert spanish.subject == "Restablece tu contraseña de Enlace"
    assert "60 minutos" in spanish.body
    assert english.subject == "Reset your Enlace password"
    assert "60 minutes" in english.body


def test_a_reset_sets_the_password_once_and_closes_every_session(api_client: APIClient, alice: Any) -> None:
    old = api_client.post(
        "/api/identity/v1/token", {"email": "alice@example.ec", "password": PASSWORD}, format="json"
    )
    _post(api_client, RESET, {"email": "alice@example.ec"})
    token = _reset_token()

    first = _post(api_client, CONFIRM, {"token": token, "new_password": NEW_PASSWORD})
    second = _post(api_client, CONFIRM, {"token": token, "new_password": "otra clave distinta 2027"})

    assert first.status_code == 204
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_token"
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    refresh = api_client.post(
        "/api/identity/v1/token/refresh", {"refresh_token": old.json()["refresh_token"]}, format="json"
    )
    assert refresh.status_code == 401
    event = OutboxMessage.objects.get(message_type="identity.password.changed")
    assert b'"via":"reset"' in bytes(event.payload)
    assert AuditEvent.objects.filter(kind="password_reset", user=alice).exists()


def test_a_reset_link_expires_after_sixty_minutes(api_client: APIClient, alice: Any) -> None:
    _post(api_client, RESET, {"email": "alice@example.ec"})
    token = _reset_token()

    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        response = _post(api_client, CONFIRM, {"token": token, "new_password": NEW_PASSWORD})

    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_weak_new_password_is_refused_with_the_reasons_and_the_link_stays_usable(
    api_client: APIClient, alice: Any
) -> None:
    _post(api_client, RESET, {"email": "alice@example.ec"})
    token = _reset_token()

    weak = _post(api_client, CONFIRM, {"token": token, "new_password": "12345"}, HTTP_ACCEPT_LANGUAGE="en")
    strong = _post(api_client, CONFIRM, {"token": token, "new_password": NEW_PASSWORD})

    assert weak.status_code == 400
    assert weak.json()["error"] == "invalid"
    assert any("too short" in message for message in weak.json()["fields"]["new_password"])
    assert strong.status_code == 204


def test_the_reset_email_is_sent_after_the_answer_by_another_thread(
    api_client: APIClient, alice: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "tests.backoffice.identity.held_mail.HeldEmailBackend"
    held_mail.reset()
    try:
        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            response = api_client.post(RESET, {"email": "alice@example.ec"}, format="json")
        # The SMTP "server" answers nobody until the test lets it: had the request sent the
        # e-mail itself, it would still be waiting there instead of having answered.
        assert response.status_code == 202
        assert len(callbacks) == 1
        assert held_mail.sent == []
        assert held_mail.waiting.wait(timeout=10), "the background sender never tried to send"
    finally:
        held_mail.release.set()
    assert emails.outgoing_wait(timeout=10)

    [(message, thread)] = held_mail.sent
    assert message.to == ["alice@example.ec"]
    assert thread != threading.get_ident()


def test_nothing_is_sent_when_the_request_is_rolled_back(api_client: APIClient, alice: Any) -> None:
    with TestCase.captureOnCommitCallbacks(execute=False):
        assert api_client.post(RESET, {"email": "alice@example.ec"}, format="json").status_code == 202
    assert emails.outgoing_wait(timeout=10)

    assert mail.outbox == []
