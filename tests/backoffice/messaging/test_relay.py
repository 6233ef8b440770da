"""The outbox and its relay, against real PostgreSQL and a real Tansu broker."""

from __future__ import annotations

import json

import psycopg2
import pytest
from django.db import connections, transaction

from enlace_messaging.django.models import OutboxMessage
from enlace_messaging.django.outbox import OutboxOutsideTransaction, outbox_put
from enlace_messaging.django.relay import RELAY_LOCK_KEY, relay_once
from enlace_messaging.errors import BrokerUnavailable
from enlace_messaging.publisher import Publisher
from tests.backoffice.messaging.conftest import PRODUCER_DB, read_topic, user_created
from tests.fixtures.polling import free_port

pytestmark = pytest.mark.django_db(databases=["default", PRODUCER_DB], transaction=True)


@pytest.fixture
def publisher(kafka_broker):
    publisher = Publisher(kafka_broker.bootstrap, timeout=5.0)
    yield publisher
    publisher.close()


def put(topic: str, user_id: int, key: str = "client-1") -> OutboxMessage:
    with transaction.atomic(using=PRODUCER_DB):
        return outbox_put(using=PRODUCER_DB, topic=topic, key=key, envelope=user_created(user_id))


def test_outbox_put_outside_a_transaction_raises():
    with pytest.raises(OutboxOutsideTransaction):
        outbox_put(using=PRODUCER_DB, topic="enlace.test.v1", key="k", envelope=user_created(1))
    assert not OutboxMessage.objects.using(PRODUCER_DB).exists()


def test_an_outbox_row_rolls_back_with_the_change_that_caused_it(topic):
    with pytest.raises(ZeroDivisionError), transaction.atomic(using=PRODUCER_DB):
        outbox_put(using=PRODUCER_DB, topic=topic, key="k", envelope=user_created(1))
        1 / 0  # noqa: B018
    assert not OutboxMessage.objects.using(PRODUCER_DB).exists()


def test_the_relay_publishes_pending_rows_in_order_and_marks_them_sent(kafka_broker, publisher, topic):
    rows = [put(topic, user_id) for user_id in range(1, 6)]

    assert relay_once(using=PRODUCER_DB, publisher=publisher) == 5
    assert relay_once(using=PRODUCER_DB, publisher=publisher) == 0

    records = read_topic(kafka_broker.bootstrap, topic, count=5)
    assert [json.loads(r.value)["id"] for r in records] == [str(row.message_id) for row in rows]
    assert {r.key for r in records} == {b"client-1"}
    sent = OutboxMessage.objects.using(PRODUCER_DB).order_by("id")
    assert all(row.sent_at is not None and row.attempts == 1 and row.last_error == "" for row in sent)


def test_the_relay_refuses_a_row_whose_payload_breaks_its_schema_and_publishes_the_next(
    kafka_broker, publisher, topic
):
    bad = user_created(1).to_dict()
    bad["data"]["email"] = 42
    with transaction.atomic(using=PRODUCER_DB):
        # Written by hand, past outbox_put's validation.
        hand_written = OutboxMessage.objects.using(PRODUCER_DB).create(
            message_id=bad["id"],
            topic=topic,
            key="client-1",
            message_type=bad["type"],
            payload=json.dumps(bad).encode(),
        )
    good = put(topic, 2)

    assert relay_once(using=PRODUCER_DB, publisher=publisher) == 1

    hand_written.refresh_from_db(using=PRODUCER_DB)
    assert hand_written.sent_at is None and hand_written.failed_at is not None
    assert "email" in hand_written.last_error and "is not of type 'string'" in hand_written.last_error
    records = read_topic(kafka_broker.bootstrap, topic, count=1)
    assert [json.loads(r.value)["id"] for r in records] == [str(good.message_id)]
    assert relay_once(using=PRODUCER_DB, publisher=publisher) == 0  # a failed row is not retried


def test_the_relay_keeps_rows_unsent_and_in_order_while_the_broker_is_unreachable(topic):
    first, second = put(topic, 1), put(topic, 2)
    unreachable = Publisher(f"127.0.0.1:{free_port()}", timeout=1.0)
    try:
        with pytest.raises(BrokerUnavailable):
            relay_once(using=PRODUCER_DB, publisher=unreachable)
    finally:
        unreachable.close()

    first.refresh_from_db(using=PRODUCER_DB)
    second.refresh_from_db(using=PRODUCER_DB)
    assert first.sent_at is None and first.attempts == 1 and first.last_error
    # The pass stopped at the first row: a later row is never published before an earlier one.
    assert second.sent_at is None and second.attempts == 0


def test_a_second_relay_on_the_same_database_waits_for_the_first(kafka_broker, publisher, topic):
    put(topic, 1)
    settings = connections[PRODUCER_DB].settings_dict
    other_relay = psycopg2.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"]
    )
    try:
        with other_relay.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [RELAY_LOCK_KEY])
        assert relay_once(using=PRODUCER_DB, publisher=publisher) == 0
        assert OutboxMessage.objects.using(PRODUCER_DB).get().sent_at is None
        with other_relay.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RELAY_LOCK_KEY])
    finally:
        # Closing alone releases the lock too, but only once the server notices, a moment later.
        other_relay.close()
    assert relay_once(using=PRODUCER_DB, publisher=publisher) == 1


class _AckedUpTo(Publisher):
    """Really publishes a batch, but reports the broker lost after the first ``acked`` messages
    (as when the connection drops mid-batch: the next one may have reached the broker or not)."""

    def __init__(self, bootstrap: str, acked: int) -> None:
        super().__init__(bootstrap, timeout=5.0)
        self.acked = acked

    def publish_many(self, messages):  # type: ignore[no-untyped-def]
        reached = messages[: self.acked + 1]  # the failed one did reach the broker: a duplicate later
        done, error = super().publish_many(reached)
        assert (done, error) == (len(reached), None)
        return self.acked, BrokerUnavailable("connection lost mid-batch")


def test_a_broker_lost_mid_batch_marks_only_the_acknowledged_rows_and_the_next_pass_skips_nothing(
    kafka_broker, publisher, topic
):
    rows = [put(topic, user_id) for user_id in range(1, 6)]
    flaky = _AckedUpTo(kafka_broker.bootstrap, acked=2)
    try:
        with pytest.raises(BrokerUnavailable):
            relay_once(using=PRODUCER_DB, publisher=flaky)
    finally:
        flaky.close()

    by_id = {row.pk: row for row in OutboxMessage.objects.using(PRODUCER_DB).order_by("id")}
    sent = [by_id[row.pk].sent_at is not None for row in rows]
    assert sent == [True, True, False, False, False]
    third = by_id[rows[2].pk]
    assert third.attempts == 1 and "mid-batch" in third.last_error
    assert [by_id[row.pk].attempts for row in rows[3:]] == [0, 0]

    assert relay_once(using=PRODUCER_DB, publisher=publisher) == 3
    assert not OutboxMessage.objects.using(PRODUCER_DB).filter(sent_at=None).exists()
    published = [json.loads(r.value)["id"] for r in read_topic(kafka_broker.bootstrap, topic, count=6)]
    expected = [str(row.message_id) for row in rows]
    # Every row arrived, in order; the one whose ack was lost arrived twice (the inbox absorbs it).
    assert published == expected[:3] + expected[2:]


def test_a_broker_down_before_a_batch_publishes_nothing_and_the_rows_go_out_in_order_later(topic):
    from tests.fixtures.kafka import TansuBroker

    broker = TansuBroker()
    broker.start()
    publisher = Publisher(broker.bootstrap, timeout=2.0)
    try:
        put(topic, 100)
        assert relay_once(using=PRODUCER_DB, publisher=publisher) == 1  # producer and metadata exist
        rows = [put(topic, user_id) for user_id in range(1, 6)]
        broker.stop()
        with pytest.raises(BrokerUnavailable):
            relay_once(using=PRODUCER_DB, publisher=publisher)
        pending = OutboxMessage.objects.using(PRODUCER_DB).filter(sent_at=None).order_by("id")
        assert [row.pk for row in pending] == [row.pk for row in rows]
        assert [row.attempts for row in pending] == [1, 0, 0, 0, 0]

        broker.start()
        published = 0
        deadline = 30
        while published < 5 and deadline > 0:
            try:
                published += relay_once(using=PRODUCER_DB, publisher=publisher)
            except BrokerUnavailable:
                deadline -= 1
        assert published == 5
        rows_now = OutboxMessage.objects.using(PRODUCER_DB).filter(pk__in=[row.pk for row in rows])
        assert all(row.sent_at is not None for row in rows_now)
        assert rows_now.get(pk=rows[0].pk).attempts >= 2
        # The in-memory broker forgot the log on restart: what is on the topic now is the batch,
        # every row, in order (the publisher's fresh producer after the failure matters here).
        records = read_topic(broker.bootstrap, topic, count=5)
        assert [json.loads(r.value)["id"] for r in records] == [str(row.message_id) for row in rows]
    finally:
        publisher.close()
        broker.stop()
