"""ConsumerRunner + DjangoInbox against a real Tansu broker and real PostgreSQL."""

from __future__ import annotations

import json
import uuid

import pytest

from enlace_messaging.catalog import dlq_topic
from enlace_messaging.envelope import Envelope
from enlace_messaging.errors import PermanentFailure
from enlace_messaging.publisher import Publisher
from tests.backoffice.messaging.conftest import (
    CONSUMER_DB,
    Effects,
    inbox_ids,
    read_topic,
    user_created,
)
from tests.fixtures.polling import wait_until

# "default" too: the other test databases depend on it (Django's TEST[DEPENDENCIES] default).
pytestmark = pytest.mark.django_db(databases=["default", CONSUMER_DB], transaction=True)


@pytest.fixture
def publisher(kafka_broker):
    publisher = Publisher(kafka_broker.bootstrap, timeout=5.0)
    yield publisher
    publisher.close()


def headers_of(record) -> dict[str, str]:
    return {key: value.decode() for key, value in record.headers}


def test_a_message_delivered_twice_has_one_effect(kafka_broker, publisher, topic, start_consumer):
    effects = Effects(effect_topic=f"{topic}.effects")
    twice, sentinel = user_created(1), user_created(2)
    # The same bytes twice, as a relay that crashed before marking the row sent would publish.
    publisher.publish(topic, "client-1", twice)
    publisher.publish(topic, "client-1", twice)
    publisher.publish(topic, "client-1", sentinel)  # same key: read after both copies

    consumer = start_consumer(kafka_broker.bootstrap, topic, effects)
    wait_until("the sentinel message is applied", lambda: sentinel.id in effects.caused_by(), timeout=30)

    assert sorted(effects.caused_by()) == sorted([twice.id, sentinel.id])
    assert [message_id for message_id, _ in effects.calls].count(twice.id) == 1
    assert sorted(inbox_ids(consumer.group)) == sorted([twice.id, sentinel.id])


def test_invalid_messages_go_to_the_dlq_with_the_reason_and_the_next_valid_one_is_applied(
    kafka_broker, publisher, topic, start_consumer
):
    effects = Effects(effect_topic=f"{topic}.effects")
    schema_breaking = user_created(3).to_dict()
    schema_breaking["data"]["user_id"] = "not-a-number"
    valid = user_created(4)
    publisher.publish_raw(topic, "client-3", b"{not json")
    publisher.publish_raw(topic, "client-3", json.dumps(schema_breaking).encode())
    publisher.publish(topic, "client-3", valid)

    consumer = start_consumer(kafka_broker.bootstrap, topic, effects)
    wait_until("the valid message is applied", lambda: valid.id in effects.caused_by(), timeout=30)

    dead = read_topic(kafka_broker.bootstrap, dlq_topic(topic), count=2)
    assert [record.value for record in dead] == [b"{not json", json.dumps(schema_breaking).encode()]
    not_json, breaking = (headers_of(record) for record in dead)
    assert not_json["dlq-reason"].startswith("not JSON")
    assert (
        "user_id" in breaking["dlq-reason"]
        and "'not-a-number' is not of type 'integer'" in breaking["dlq-reason"]
    )
    assert breaking["dlq-original-topic"] == topic
    assert breaking["dlq-consumer-group"] == consumer.group
    assert int(breaking["dlq-original-offset"]) == int(not_json["dlq-original-offset"]) + 1
    assert {"dlq-original-partition", "dlq-failed-at"} <= breaking.keys()
    assert inbox_ids(consumer.group) == [valid.id]


def test_a_handler_failing_twice_is_retried_with_growing_backoff_and_applied_once(
    kafka_broker, publisher, topic, start_consumer
):
    effects = Effects(effect_topic=f"{topic}.effects", fail_first=2)
    message = user_created(5)
    publisher.publish(topic, "client-5", message)

    start_consumer(kafka_broker.bootstrap, topic, effects, backoff_initial=0.3, max_attempts=5)
    wait_until("the message is applied", lambda: message.id in effects.caused_by(), timeout=30)

    times = [at for _, at in effects.calls]
    assert len(times) == 3
    first_wait, second_wait = times[1] - times[0], times[2] - times[1]
    assert first_wait >= 0.3
    assert second_wait >= 0.6
    # The two failed attempts wrote their effect too, and it was rolled back with them.
    assert effects.caused_by() == [message.id]


def test_a_handler_that_keeps_failing_ends_in_the_dlq_and_consumption_goes_on(
    kafka_broker, publisher, topic, start_consumer
):
    poison, next_one = user_created(6), user_created(7)
    effects = Effects(effect_topic=f"{topic}.effects", fail_first=10**6)
    publisher.publish(topic, "client-6", poison)
    publisher.publish(topic, "client-6", next_one)

    def handle(envelope):
        if envelope.id == poison.id:
            effects(envelope)
        else:
            Effects(effect_topic=effects.effect_topic)(envelope)

    consumer = start_consumer(kafka_broker.bootstrap, topic, handle, max_attempts=3, backoff_initial=0.05)
    wait_until("the next message is applied", lambda: next_one.id in effects.caused_by(), timeout=30)

    assert [message_id for message_id, _ in effects.calls] == [poison.id] * 3
    (dead,) = read_topic(kafka_broker.bootstrap, dlq_topic(topic), count=1)
    assert json.loads(dead.value)["id"] == poison.id
    assert headers_of(dead)["dlq-reason"] == "RuntimeError: router on fire"
    assert headers_of(dead)["message-id"] == poison.id  # the original headers are kept
    assert effects.caused_by() == [next_one.id]
    assert inbox_ids(consumer.group) == [next_one.id]


def test_a_permanent_failure_goes_to_the_dlq_without_retrying(kafka_broker, publisher, topic, start_consumer):
    refused, next_one = user_created(8), user_created(9)
    effects = Effects(
        effect_topic=f"{topic}.effects", fail_first=10**6, error=PermanentFailure("no such plan")
    )
    publisher.publish(topic, "client-8", refused)
    publisher.publish(topic, "client-8", next_one)
    applied: list[str] = []

    def handle(envelope):
        if envelope.id == refused.id:
            effects(envelope)
        applied.append(envelope.id)

    start_consumer(kafka_broker.bootstrap, topic, handle, max_attempts=5)
    wait_until("the next message is applied", lambda: next_one.id in applied, timeout=30)

    assert len(effects.calls) == 1
    (dead,) = read_topic(kafka_broker.bootstrap, dlq_topic(topic), count=1)
    assert headers_of(dead)["dlq-reason"] == "no such plan"


def test_the_memory_inbox_applies_a_message_once():
    from enlace_messaging.inbox import MemoryInbox

    inbox, applied = MemoryInbox(max_ids=2), []
    first = user_created(uuid.uuid4().int % 10**6)
    assert inbox.process(first, lambda e: applied.append(e.id)) is True
    assert inbox.process(first, lambda e: applied.append(e.id)) is False
    assert applied == [first.id]


def test_in_a_batch_a_failing_record_is_retried_alone_then_dead_lettered_and_the_others_apply_once_in_order(
    kafka_broker, publisher, topic, start_consumer
):
    messages = [user_created(n) for n in range(20, 26)]
    poison, flaky = messages[2], messages[4]
    for message in messages:  # one key: one partition, all in the first poll of the consumer
        publisher.publish(topic, "client-20", message)
    calls: list[str] = []
    effects = Effects(effect_topic=f"{topic}.effects")

    def handle(envelope):
        calls.append(envelope.id)
        effects(envelope)  # written before failing: the rollback must undo it
        if envelope.id == poison.id or (envelope.id == flaky.id and calls.count(flaky.id) == 1):
            raise RuntimeError("router on fire")

    consumer = start_consumer(
        kafka_broker.bootstrap, topic, handle, max_attempts=3, backoff_initial=0.05, batch_size=200
    )
    wait_until("the last message is applied", lambda: messages[-1].id in effects.caused_by(), timeout=30)

    ids = [m.id for m in messages]
    # Order kept: the poison is tried 3 times before anything after it, the flaky one twice.
    assert calls == ids[:2] + [poison.id] * 3 + [ids[3], flaky.id, flaky.id, ids[5]]
    applied = [i for i in ids if i != poison.id]
    assert effects.caused_by() == applied  # each once, in order, nothing of the poison
    assert sorted(inbox_ids(consumer.group)) == sorted(applied)
    (dead,) = read_topic(kafka_broker.bootstrap, dlq_topic(topic), count=1)
    assert json.loads(dead.value)["id"] == poison.id
    assert headers_of(dead)["dlq-reason"] == "RuntimeError: router on fire"


def test_the_memory_inbox_batch_is_a_plain_block():
    from enlace_messaging.inbox import MemoryInbox

    inbox, applied = MemoryInbox(), []
    message = user_created(uuid.uuid4().int % 10**6)
    with inbox.batch():
        assert inbox.process(message, lambda e: applied.append(e.id)) is True
    assert applied == [message.id]


# --- runs applied together (handle_many) --------------------------------------------------------------


def test_a_refused_message_sends_its_run_one_by_one_and_only_it_is_dead_lettered(
    kafka_broker, publisher, topic, start_consumer
):
    messages = [user_created(n) for n in range(40, 47)]
    poison = messages[4]
    invalid = b'{"not": "an envelope"}'
    for message in messages[:6]:  # one key: one partition, in order
        publisher.publish(topic, "client-40", message)
    publisher.publish_raw(topic, "client-40", invalid)
    publisher.publish(topic, "client-40", messages[6])
    effects = Effects(effect_topic=f"{topic}.effects")
    runs: list[list[str]] = []

    def handle_many(envelopes):
        runs.append([e.id for e in envelopes])
        for envelope in envelopes:
            effects(envelope)  # written before refusing: the rollback must undo them all
        if poison.id in runs[-1]:
            raise PermanentFailure("not for us")

    consumer = start_consumer(
        kafka_broker.bootstrap,
        topic,
        lambda envelope: handle_many([envelope]),
        handle_many=handle_many,
        max_attempts=3,
        backoff_initial=0.05,
    )
    wait_until("the last message is applied", lambda: messages[-1].id in effects.caused_by(), timeout=30)

    ids = [m.id for m in messages]
    # The first poll's run (up to the invalid record) fails whole, then goes one by one; the
    # invalid record is dead-lettered; the message after it is a run of its own.
    assert runs[0] == ids[:6]
    assert runs[1:7] == [[i] for i in ids[:6]]
    assert runs[7:] == [[ids[6]]]
    applied = [i for i in ids if i != poison.id]
    assert effects.caused_by() == applied  # each once, in order, nothing of the failed run
    assert sorted(inbox_ids(consumer.group)) == sorted(applied)
    dead = read_topic(kafka_broker.bootstrap, dlq_topic(topic), count=2)
    assert [record.value for record in dead] == [poison.to_json(), invalid]
    assert headers_of(dead[0])["dlq-reason"] == "not for us"


def test_the_django_inbox_applies_a_run_once_even_with_a_message_twice_in_it(db):
    from enlace_messaging.django.inbox import DjangoInbox

    inbox = DjangoInbox(using=CONSUMER_DB, consumer_group="group-run")
    old, new = user_created(60), user_created(61)
    # The same message with its id in capitals: still the same message.
    shouted = Envelope(**{**new.to_dict(), "id": new.id.upper()})
    assert inbox.process(old, lambda e: None) is True
    runs: list[list[str]] = []

    assert inbox.process_many([old, new, shouted, new], lambda es: runs.append([e.id for e in es])) == 1
    assert inbox.process_many([old, shouted], lambda es: runs.append([e.id for e in es])) == 0

    assert runs == [[new.id]]
    assert sorted(inbox_ids("group-run")) == sorted([old.id, new.id])


def test_the_memory_inbox_applies_a_run_once():
    from enlace_messaging.inbox import MemoryInbox

    inbox, runs = MemoryInbox(), []
    first, second = user_created(70), user_created(71)
    assert inbox.process(first, lambda e: None) is True
    assert inbox.process_many([first, second, second], lambda es: runs.append([e.id for e in es])) == 1
    assert inbox.process(second, lambda e: runs.append([e.id])) is False
    assert runs == [[second.id]]
