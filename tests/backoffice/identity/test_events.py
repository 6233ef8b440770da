"""identity.user.created and identity.password.changed go to the outbox with the change, or not at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from backoffice.identity import services
from backoffice.identity.models import User
from enlace_messaging import catalog
from enlace_messaging.django.models import OutboxMessage
from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _payload(message: OutboxMessage) -> dict[str, Any]:
    return dict(json.loads(bytes(message.payload)))


def test_ada_creating_a_user_writes_identity_user_created(
    client_as: Callable[[Any], APIClient], ada: Any
) -> None:
    response = client_as(ada).post(
        "/api/identity/v1/users",
        {
            "email": "nuevo@enlace.test",
            "roles": ["agent"],
            "password": "una clave larga 2026",
            "language": "en",
        },
        format="json",
    )

    assert response.status_code == 201
    message = OutboxMessage.objects.get(message_type="identity.user.created")
    assert message.topic == catalog.IDENTITY_EVENTS
    assert message.key == str(response.json()["id"])
    assert _payload(message)["data"] == {
        "user_id": response.json()["id"],
        "email": "nuevo@enlace.test",
        "roles": ["agent"],
        "client_id": None,
        "language": "en",
    }


def test_no_event_is_written_when_the_creation_rolls_back(db: None) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        services.user_create(email="fantasma@enlace.test", roles=["noc"], password="una clave larga 2026")
        raise RuntimeError("the surrounding work failed")

    assert not User.objects.filter(email="fantasma@enlace.test").exists()
    assert not OutboxMessage.objects.exists()


def test_a_password_change_writes_identity_password_changed(
    client_as: Callable[[Any], APIClient], alice: Any
) -> None:
    response = client_as(alice).post(
        "/api/identity/v1/password/change",
        {"current_password": PASSWORD, "new_password": "otra clave muy larga 2026"},
        format="json",
    )

    assert response.status_code == 204
    message = OutboxMessage.objects.get(message_type="identity.password.changed")
    assert _payload(message)["data"] == {"user_id": alice.pk, "email": "alice@example.ec", "via": "change"}


def test_a_refused_password_change_writes_no_event(client_as: Callable[[Any], APIClient], alice: Any) -> None:
    response = client_as(alice).post(
        "/api/identity/v1/password/change",
        {"current_password": PASSWORD, "new_password": "123"},
        format="json",
    )

    assert response.status_code == 400
    assert not OutboxMessage.objects.exists()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
