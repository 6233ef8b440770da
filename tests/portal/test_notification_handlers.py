"""From an identity event to a push on the right user's group, over Redis (and Kafka)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from backoffice.messaging import catalog
from backoffice.messaging.envelope import Envelope
from backoffice.messaging.inbox import DjangoInbox
from backoffice.messaging.kafka import Publisher
from portal.notifications.delivery import envelope_notify, layer_sender
from portal.notifications.registry import (
    Push,
    envelope_pushes,
    notification_handler,
    subscribed_topics,
    user_group,
)
from portal.notifications.runner import notification_runner
from tests.portal.conftest import ALICE, BOB


def _password_changed(user_id: int) -> Envelope:
    return Envelope.new(
        type="identity.password.changed",
        data={"user_id": user_id, "email": "alice@example.ec", "via": "change"},
        source="identity",
    )


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, group: str, message: dict[str, Any]) -> None:
        self.sent.append((group, message))


def _receive(channel: str, timeout: float = 10.0) -> dict[str, Any]:
    async def receive() -> dict[str, Any]:
        import asyncio

        return await asyncio.wait_for(get_channel_layer().receive(channel), timeout)

    return async_to_sync(receive)()


@pytest.mark.django_db(transaction=True)
def test_a_password_change_becomes_a_push_to_that_users_group_only() -> None:
    sent = Recorder()

    assert envelope_notify(_password_changed(ALICE["id"]), send=sent) == 2

    [(group, message), (check_group, check)] = sent.sent
    assert group == check_group == f"user-{ALICE['id']}"
    assert message["type"] == "notification.fragment"
    assert message["template"] == "portal/notifications/password_changed.html"
    assert message["context"]["via"] == "change"
    # Then Alice's open pages make sure identity still accepts their session.
    assert check == {"type": "session.check"}


def test_a_type_without_a_handler_pushes_nothing() -> None:
    created = Envelope.new(
        type="identity.user.created",
        data={"user_id": BOB["id"], "email": "bob@example.ec", "roles": ["subscriber"]},
        source="identity",
    )
    assert envelope_pushes(created) == []


def test_the_consumer_reads_identity_events() -> None:
    assert catalog.IDENTITY_EVENTS in subscribed_topics()


def test_a_second_handler_for_one_type_is_refused() -> None:
    with pytest.raises(ValueError, match="already has a handler"):

        @notification_handler(catalog.IDENTITY_EVENTS, "identity.password.changed")
        def another(envelope: Envelope) -> list[Push]:
            return []


@pytest.mark.django_db(transaction=True)
def test_the_push_waits_for_the_inbox_transaction_to_commit_and_a_redelivery_pushes_nothing() -> None:
    sent = Recorder()
    inbox = DjangoInbox(using="default", consumer_group="portal-notifications-test")
    envelope = _password_changed(ALICE["id"])

    def handle(message: Envelope) -> None:
        envelope_notify(message, send=sent)
        assert transaction.get_connection().in_atomic_block
        assert sent.sent == [], "pushed before the inbox row committed"

    assert inbox.process(envelope, handle) is True
    assert len(sent.sent) == 2
    assert inbox.process(envelope, handle) is False
    assert len(sent.sent) == 2


@pytest.mark.django_db(transaction=True)
def test_an_event_published_on_kafka_reaches_the_users_group_through_redis(kafka_broker) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(ALICE["id"]), channel)
    from django.test import override_settings

    with override_settings(KAFKA_BOOTSTRAP_SERVERS=kafka_broker.bootstrap):
        runner = notification_runner(send=layer_sender())
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    publisher = Publisher(kafka_broker.bootstrap)
    try:
        envelope = _password_changed(ALICE["id"])
        publisher.publish(catalog.IDENTITY_EVENTS, str(ALICE["id"]), envelope)
        started = time.monotonic()
        message = _receive(channel, timeout=30)
        assert message["type"] == "notification.fragment"
        assert message["context"]["id"] == envelope.id
        assert time.monotonic() - started < 30
    finally:
        runner.stop()
        thread.join(15)
        publisher.close()
        async_to_sync(layer.group_discard)(user_group(ALICE["id"]), channel)
