"""A client registered in the clients service gets a portal account: identity consumes
clients.client.created, e-mails an activation code (or links an existing subscriber)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from backoffice.identity import services
from backoffice.identity.consumers import CONSUMERS
from backoffice.identity.models import ActivationCode, User
from enlace_messaging.django.inbox import DjangoInbox
from enlace_messaging.envelope import Envelope

pytestmark = pytest.mark.django_db

PASSWORD = "mi clave de internet 2026"


def _client_event(type="clients.client.created", **overrides):
    data = {
        "client_id": 42,
        "kind": "person",
        "name": "Dora Díaz",
        "identification_type": "cedula",
        "identification": "1710034065",
        "email": "Dora@Example.ec",
        "billing_email": None,
        "phone": None,
        "language": "es",
        "status": "prospect",
        "address": None,
    }
    data.update(overrides)
    return Envelope.new(type=type, data=data, source="clients")


def _deliver(envelope):
    [spec] = CONSUMERS
    with TestCase.captureOnCommitCallbacks(execute=True):
        return DjangoInbox(spec.using, spec.group_id).process(envelope, spec.dispatch)


def test_a_new_client_gets_an_emailed_code_that_activates_their_account():
    event = _client_event()
    _deliver(event)
    _deliver(event)  # redelivered: nothing more

    [message] = mail.outbox
    assert message.to == ["dora@example.ec"]
    assert "código de activación" in message.body
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", message.body).group(0)
    user = services.account_activate(
        email="dora@example.ec", code=code, password=PASSWORD, meta=services.RequestMeta(), now=timezone.now()
    )
    assert (user.client_id, user.roles, user.language) == (42, ["subscriber"], "es")


def test_the_code_is_written_in_the_clients_language():
    _deliver(_client_event(language="en"))

    assert "activation code" in mail.outbox[0].body
    assert mail.outbox[0].subject == "Your Enlace portal activation code"


def test_an_update_does_not_send_a_second_code_while_one_is_pending():
    _deliver(_client_event())
    _deliver(_client_event(type="clients.client.updated", status="active"))

    assert len(mail.outbox) == 1
    assert ActivationCode.objects.filter(client_id=42).count() == 1


def test_a_client_without_email_gets_no_account_until_one_is_added():
    _deliver(_client_event(email=None))
    assert mail.outbox == []

    _deliver(_client_event(type="clients.client.updated", email="dora@example.ec"))
    assert len(mail.outbox) == 1


def test_an_existing_unlinked_subscriber_account_is_linked(user_factory):
    user = user_factory(email="dora@example.ec", roles=["subscriber"], client_id=None)

    _deliver(_client_event())

    user.refresh_from_db()
    assert user.client_id == 42
    assert mail.outbox == []


def test_a_staff_account_with_that_email_is_never_given_the_client(user_factory):
    staff = user_factory(email="dora@example.ec", roles=["agent"])

    _deliver(_client_event())

    staff.refresh_from_db()
    assert staff.client_id is None
    assert not ActivationCode.objects.exists()
    assert User.objects.filter(email="dora@example.ec").count() == 1
