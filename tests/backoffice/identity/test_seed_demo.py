"""The demo seed creates one user per role, once."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from backoffice.identity.models import User
from enlace_messaging.django.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_seeding_twice_creates_one_demo_user_per_role() -> None:
    call_command("seed_identity_demo")
    call_command("seed_identity_demo")

    users = {user.email: user for user in User.objects.all()}
    assert set(users) == {
        f"{role}@enlace.demo" for role in ("admin", "agent", "billing", "noc", "subscriber")
    }
    assert users["subscriber@enlace.demo"].client_id == 1
    assert users["admin@enlace.demo"].is_superuser
    assert all(user.check_password("Enlace-Demo-2026") for user in users.values())
    assert OutboxMessage.objects.filter(message_type="identity.user.created").count() == 5
