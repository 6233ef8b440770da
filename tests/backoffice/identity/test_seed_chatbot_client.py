"""The support bot's OAuth2 client: created once, with only the scopes the bot needs."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from django.core.management import call_command
from oauth2_provider.models import Application
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(databases=["default"])


def _token(client_id: str, secret: str) -> Any:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return APIClient().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )


def test_the_bot_gets_a_token_with_only_its_scopes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENLACE_CHATBOT_CLIENT_ID", "bot-under-test")
    monkeypatch.setenv("ENLACE_CHATBOT_CLIENT_SECRET", "s3cret-of-the-bot")

    call_command("seed_chatbot_client")
    response = _token("bot-under-test", "s3cret-of-the-bot")

    assert response.status_code == 200, response.content
    scopes = set(
        jwt.decode(response.json()["access_token"], options={"verify_signature": False})["scope"].split()
    )
    assert scopes == {
        "clients.read",
        "billing.read",
        "billing.pay_link",
        "network.read",
        "network.diagnose",
        "support.read",
        "support.write",
    }


def test_seeding_again_keeps_one_client_and_takes_a_rotated_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENLACE_CHATBOT_CLIENT_ID", "bot-under-test")
    monkeypatch.setenv("ENLACE_CHATBOT_CLIENT_SECRET", "first-secret")
    call_command("seed_chatbot_client")
    monkeypatch.setenv("ENLACE_CHATBOT_CLIENT_SECRET", "rotated-secret")

    call_command("seed_chatbot_client")

    assert Application.objects.filter(client_id="bot-under-test").count() == 1
    assert _token("bot-under-test", "first-secret").status_code == 401
    assert _token("bot-under-test", "rotated-secret").status_code == 200
