"""Dead-letter records never keep a PPPoE or API password in clear."""

from __future__ import annotations

import json

import pytest

from backoffice.messaging.catalog import dlq_topic
from backoffice.messaging.envelope import Envelope
from backoffice.messaging.errors import PermanentFailure
from backoffice.messaging.kafka import Publisher
from backoffice.messaging.redaction import dead_letter_redact
from tests.backoffice.messaging.conftest import CONSUMER_DB, read_topic, wait_until


def subscription_created(subscription_id: int, password: str) -> Envelope:
    return Envelope.new(
        type="clients.subscription.created",
        data={
            "subscription_id": subscription_id,
            "client_id": 1,
            "router": "torre-9",
            "pppoe_username": f"ana{subscription_id}",
            "pppoe_password": password,
            "plan": {"code": "hogar-20", "download": "20M", "upload": "5M"},
        },
        source="clients",
    )


def test_a_record_with_passwords_at_any_depth_keeps_everything_but_them() -> None:
    record = {
        "id": "x",
        "data": {"pppoe": {"username": "ana", "password": "s3creta"}, "pppoe_password": "otra"},
    }

    value, reason = dead_letter_redact(json.dumps(record).encode(), "password 's3creta' is too short")

    assert json.loads(value) == {
        "id": "x",
        "data": {"pppoe": {"username": "ana", "password": "[redacted]"}, "pppoe_password": "[redacted]"},
    }
    assert reason == "password '[redacted]' is too short"


def test_a_record_without_secrets_stays_byte_for_byte() -> None:
    value = b'{"id": "x",  "data": {"user": 1}}'

    assert dead_letter_redact(value, "bad") == (value, "bad")


def test_a_record_that_is_not_json_still_loses_its_password() -> None:
    value = b'{"data": {"pppoe": {"password": "s3c\\"reta", "username": "ana"}'  # cut short

    redacted, _ = dead_letter_redact(value, "not JSON")

    assert b"s3c" not in redacted
    assert b'"username": "ana"' in redacted


@pytest.mark.django_db(databases=["default", CONSUMER_DB], transaction=True)
def test_the_back_office_dead_letter_path_redacts_the_pppoe_password(kafka_broker, topic, start_consumer):
    publisher = Publisher(kafka_broker.bootstrap, timeout=5.0)
    refused, next_one = subscription_created(1, "clave-del-abonado"), subscription_created(2, "otra-clave")
    publisher.publish(topic, "client-1", refused)
    publisher.publish(topic, "client-1", next_one)
    publisher.close()
    applied: list[str] = []

    def handle(envelope: Envelope) -> None:
        if envelope.id == refused.id:
            raise PermanentFailure("router torre-9 is unknown")
        applied.append(envelope.id)

    start_consumer(kafka_broker.bootstrap, topic, handle)
    wait_until(lambda: next_one.id in applied, 30, "the next message is applied")

    (dead,) = read_topic(kafka_broker.bootstrap, dlq_topic(topic), count=1)
    assert b"clave-del-abonado" not in dead.value
    assert json.loads(dead.value)["id"] == refused.id
    assert json.loads(dead.value)["data"]["pppoe_password"] == "[redacted]"
