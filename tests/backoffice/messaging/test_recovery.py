"""Crashes and outages: a killed relay, a broker restart, and clean shutdown of the commands."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import uuid

import pytest
from django.db import connections, transaction

from enlace_messaging.django.models import OutboxMessage
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.django.relay import RELAY_LOCK_KEY, run_relay
from enlace_messaging.publisher import Publisher
from tests.backoffice.messaging.conftest import (
    CONSUMER_DB,
    PRODUCER_DB,
    Effects,
    backoffice_command,
    inbox_ids,
    read_topic,
    subprocess_env,
    user_created,
)
from tests.fixtures.kafka import TansuBroker
from tests.fixtures.polling import free_port, wait_until

pytestmark = pytest.mark.django_db(databases=["default", PRODUCER_DB, CONSUMER_DB], transaction=True)


def put(topic: str, user_id: int) -> str:
    envelope = user_created(user_id)
    with transaction.atomic(using=PRODUCER_DB):
        outbox_put(using=PRODUCER_DB, topic=topic, key=f"client-{user_id % 3}", envelope=envelope)
    return envelope.id


def relay_holds_its_lock() -> bool:
    with connections[PRODUCER_DB].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted",
            [RELAY_LOCK_KEY & 0xFFFFFFFF],
        )
        return bool(cursor.fetchone()[0])


def test_a_relay_killed_between_commit_and_publish_loses_nothing_and_the_consumer_sees_it_once(
    kafka_broker, topic, start_consumer
):
    message_id = put(topic, 1)
    # A relay whose broker never answers: it sits in the publish of the committed row...
    stuck = subprocess.Popen(
        backoffice_command("relay", "--services", "network"),
        env=subprocess_env(f"127.0.0.1:{free_port()}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until("the first relay is inside its pass", relay_holds_its_lock, timeout=60)
    finally:
        stuck.send_signal(signal.SIGKILL)  # ...and dies there, without any clean-up.
        stuck.wait(timeout=10)
    assert OutboxMessage.objects.using(PRODUCER_DB).get().sent_at is None

    fresh = subprocess.run(
        backoffice_command("relay", "--once", "--services", "network"),
        env=subprocess_env(kafka_broker.bootstrap),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert fresh.returncode == 0, fresh.stderr.decode()[-2000:]
    assert b"published 1 message(s)" in fresh.stdout

    effects = Effects(effect_topic=f"{topic}.effects")
    consumer = start_consumer(kafka_broker.bootstrap, topic, effects)
    wait_until("the consumer applies the message", lambda: message_id in effects.caused_by(), timeout=30)
    records = read_topic(kafka_broker.bootstrap, topic, count=1)
    assert [json.loads(r.value)["id"] for r in records] == [message_id]
    assert effects.caused_by() == [message_id]
    assert inbox_ids(consumer.group) == [message_id]


def test_a_broker_down_for_ten_seconds_while_messages_are_produced_loses_none(start_consumer):
    """Rows written while the broker is down wait in the outbox and arrive after its restart.

    Tansu here keeps its log in memory only (this build has no PostgreSQL or file storage), so
    a restart forgets what it held. The test therefore lets the consumer catch up before the
    broker stops: what it checks is ours, the outbox keeping every unsent message, not the
    broker's durability.
    """
    broker = TansuBroker()
    broker.start()
    topic = f"enlace.test.{uuid.uuid4().hex[:12]}.v1"
    publisher = Publisher(broker.bootstrap, timeout=2.0)
    produced: list[str] = []
    writing, stop_writing, stop_relay = threading.Event(), threading.Event(), threading.Event()
    writer_errors: list[BaseException] = []

    def write() -> None:
        try:
            while not stop_writing.is_set():
                if writing.wait(0.1):
                    produced.append(put(topic, len(produced) + 1))
                    time.sleep(0.05)
        except BaseException as exc:
            writer_errors.append(exc)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write, daemon=True)
    relay = threading.Thread(
        target=run_relay,
        kwargs={
            "aliases": [PRODUCER_DB],
            "publisher": publisher,
            "stop_event": stop_relay,
            "idle_sleep": 0.05,
            "backoff_max": 2.0,
        },
        daemon=True,
    )
    effects = Effects(effect_topic=f"{topic}.effects")
    consumer = None
    try:
        writer.start()
        relay.start()
        consumer = start_consumer(broker.bootstrap, topic, effects)
        writing.set()
        time.sleep(2)
        writing.clear()
        wait_until(
            "the consumer catches up before the outage",
            lambda: len(set(inbox_ids(consumer.group))) == len(produced),
            timeout=60,
        )
        before_outage = len(produced)

        broker.stop()
        writing.set()
        time.sleep(10)
        unsent = OutboxMessage.objects.using(PRODUCER_DB).filter(sent_at=None)
        assert unsent.count() > 0
        assert unsent.order_by("id").first().last_error  # the relay tried and said why it failed

        broker.start()
        time.sleep(2)
        stop_writing.set()
        writer.join(timeout=10)
        assert not writer_errors
        assert len(produced) > before_outage + 50
        wait_until(
            "the consumer applies every message produced",
            lambda: len(set(inbox_ids(consumer.group))) == len(produced),
            timeout=90,
        )
        assert sorted(inbox_ids(consumer.group)) == sorted(produced)
        caused = effects.caused_by()
        assert len(caused) == len(set(caused)) and set(caused) == set(produced)
        assert not OutboxMessage.objects.using(PRODUCER_DB).filter(sent_at=None).exists()
    finally:
        stop_writing.set()
        stop_relay.set()
        relay.join(timeout=30)
        if consumer is not None:
            consumer.stop()  # before the broker goes, so it leaves its group cleanly
        publisher.close()
        broker.stop()


def test_sigterm_stops_the_relay_cleanly(kafka_broker, topic):
    relay = subprocess.Popen(
        backoffice_command("relay", "--services", "network"),
        env=subprocess_env(kafka_broker.bootstrap),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        put(topic, 1)
        wait_until(
            "the relay publishes the row",
            lambda: OutboxMessage.objects.using(PRODUCER_DB).get().sent_at is not None,
            timeout=60,
        )
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=30) == 0, relay.stderr.read().decode()[-2000:]
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()


def test_sigterm_stops_a_consumer_cleanly(kafka_broker, topic):
    group = f"group-{uuid.uuid4().hex[:8]}"
    message = user_created(1)
    publisher = Publisher(kafka_broker.bootstrap)
    publisher.publish(topic, "client-1", message)
    publisher.close()
    consume = subprocess.Popen(
        backoffice_command(
            "consume",
            "test-consumer",
            "--module",
            "tests.backoffice.messaging.consumers_for_tests",
            "--session-timeout-ms",
            "3000",
            "--max-poll-interval-ms",
            "3000",
        ),
        env=subprocess_env(
            kafka_broker.bootstrap,
            ENLACE_TEST_TOPIC=topic,
            ENLACE_TEST_GROUP=group,
            ENLACE_TEST_EFFECT_TOPIC=f"{topic}.effects",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until("the consumer applies the message", lambda: inbox_ids(group) == [message.id], timeout=60)
        consume.send_signal(signal.SIGTERM)
        assert consume.wait(timeout=30) == 0, consume.stderr.read().decode()[-2000:]
        assert Effects(effect_topic=f"{topic}.effects").caused_by() == [message.id]
    finally:
        if consume.poll() is None:
            consume.kill()
            consume.wait()
