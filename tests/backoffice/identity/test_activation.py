"""Subscribers activate their account with a code staff issued, then verify their e-mail."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import TestCase
from rest_framework.test import APIClient

from backoffice.identity.models import ActivationCode, AuditEvent, User
from enlace_messaging.django.models import OutboxMessage

pytestmark = pytest.mark.django_db


def _post(client: APIClient, url: str, data: dict[str, Any], **extra: Any) -> Any:
    """POSTs and runs the on-commit callbacks (e-mails) the test's open transaction holds back."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data, format="json", **extra)


CODES = "/api/identity/v1/activation-codes"
ACTIVATE = "/api/identity/v1/activation"
VERIFY = "/api/identity/v1/email/verify"
PASSWORD = "mi clave de internet 2026"


def _issue(client: APIClient, email: str = "dora@example.ec") -> Any:
    return client.post(CODES, {"email": email, "client_id": 42, "full_name": "Dora Díaz"}, format="json")


def test_carol_issues_a_code_that_is_stored_only_hashed(
    client_as: Callable[[Any], APIClient], carol: Any
) -> None:
    response = _issue(client_as(carol))

    assert response.status_code == 201
    code = response.json()["code"]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    row = ActivationCode.objects.get()
    assert code not in row.code_hash
    assert row.created_by == carol


def test_bob_the_agent_cannot_issue_codes(client_as: Callable[[Any], APIClient], bob: Any) -> None:
    assert _issue(client_as(bob)).status_code == 403


def test_a_wrong_code_is_refused(
    client_as: Callable[[Any], APIClient], carol: Any, api_client: APIClient
) -> None:
    _issue(client_as(carol))

    response = api_client.post(
        ACTIVATE, {"email": "dora@example.ec", "code": "AAAA-BBBB-CCCC", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_code"
    assert not User.objects.filter(email="dora@example.ec").exists()
    assert AuditEvent.objects.filter(kind="activation_failed").exists()


def test_the_right_code_creates_the_subscriber_once(
    client_as: Callable[[Any], APIClient], carol: Any, api_client: APIClient
) -> None:
    code = _issue(client_as(carol)).json()["code"]

    first = api_client.post(
        ACTIVATE, {"email": "dora@example.ec", "code": code.lower(), "password": PASSWORD}, format="json"
    )
    second = _post(api_client, ACTIVATE, {"email": "dora@example.ec", "code": code, "password": PASSWORD})

    assert first.status_code == 201
    assert first.json()["client_id"] == 42
    assert second.status_code == 400
    dora = User.objects.get(email="dora@example.ec")
    assert dora.roles == ["subscriber"]
    assert dora.client_id == 42
    assert dora.full_name == "Dora Díaz"
    assert dora.check_password(PASSWORD)
    assert OutboxMessage.objects.filter(message_type="identity.user.created", key=str(dora.pk)).count() == 1
    login = api_client.post(
        "/api/identity/v1/token", {"email": "dora@example.ec", "password": PASSWORD}, format="json"
    )
    assert login.status_code == 200


def test_the_email_verification_link_works_once(
    client_as: Callable[[Any], APIClient], carol: Any, api_client: APIClient
) -> None:
    code = _issue(client_as(carol)).json()["code"]
    _post(api_client, ACTIVATE, {"email": "dora@example.ec", "code": code, "password": PASSWORD})
    assert mail.outbox[-1].subject == "Confirma tu correo electrónico para Enlace"
    match = re.search(r"https://portal\.enlace\.test/verify-email/([^/\s]+)/", mail.outbox[-1].body)
    assert match
    token = match.group(1)

    first = api_client.post(VERIFY, {"token": token}, format="json")
    second = api_client.post(VERIFY, {"token": token}, format="json")

    assert first.status_code == 204
    assert second.status_code == 400
    assert User.objects.get(email="dora@example.ec").email_verified


def test_a_code_cannot_be_issued_for_an_existing_account(
    client_as: Callable[[Any], APIClient], carol: Any, alice: Any
) -> None:
    response = _issue(client_as(carol), email="alice@example.ec")

    assert response.status_code == 409
