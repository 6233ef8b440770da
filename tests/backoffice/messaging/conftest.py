"""Helpers for the messaging tests: fresh topics, a real consumer in a thread, reading topics.

Each test uses its own topic (uuid suffix) on the session broker, so tests never see each
other's messages; tests that stop the broker start their own TansuBroker.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.db import connections
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from enlace_messaging.consumer import ConsumerRunner
from enlace_messaging.django.inbox import DjangoInbox
from enlace_messaging.django.models import InboxMessage, OutboxMessage
from enlace_messaging.envelope import Envelope
from enlace_messaging.publisher import Publisher
from tests.backoffice.messaging.consumers_for_tests import CONSUMER_DB, record_effect

PRODUCER_DB = "network"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Test consumers join a Tansu group in about 3 s with these (Tansu waits for the rebalance timeout).
FAST_GROUP = {"max_poll_interval_ms": 3000, "session_timeout_ms": 3000, "heartbeat_interval_ms": 1000}


def user_created(user_id: int) -> Envelope:
    return Envelope.new(
        type="identity.user.created",
        data={"user_id": user_id, "email": f"user{user_id}@example.com", "roles": ["subscriber"]},
        source="tests",
    )


@dataclass
class Effects:
    """The handler of the test consumers: writes one caused message per applied message."""

    effect_topic: str
    fail_first: int = 0
    error: Exception = field(default_factory=lambda: RuntimeError("router on fire"))
    calls: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self, envelope: Envelope) -> None:
        self.calls.append((envelope.id, time.monotonic()))
        record_effect(envelope, using=CONSUMER_DB, effect_topic=self.effect_topic)
        attempts = sum(1 for message_id, _ in self.calls if message_id == envelope.id)
        if attempts <= self.fail_first:
            # Raised after the write, so the test also proves the write is rolled back.
            raise self.error

    def caused_by(self) -> list[str]:
        """The causation ids of the committed effects, one per applied message."""
        rows = OutboxMessage.objects.using(CONSUMER_DB).filter(topic=self.effect_topic)
        return [json.loads(bytes(row.payload))["causation_id"] for row in rows]


def inbox_ids(group: str) -> list[str]:
    return [
        str(i)
        for i in InboxMessage.objects.using(CONSUMER_DB)
        .filter(consumer_group=group)
        .values_list("message_id", flat=True)
    ]


@dataclass
class RunningConsumer:
    runner: ConsumerRunner
    thread: threading.Thread
    group: str

    def stop(self) -> None:
        self.runner.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the consumer did not stop within 30 s"


@pytest.fixture
def topic() -> str:
    return f"enlace.test.{uuid.uuid4().hex[:12]}.v1"


@pytest.fixture
def start_consumer() -> Iterator[Callable[..., RunningConsumer]]:
    started: list[tuple[RunningConsumer, Publisher]] = []

    def start(
        bootstrap: str, topic: str, handle: Callable[[Envelope], None], **options: object
    ) -> RunningConsumer:
        group = f"group-{uuid.uuid4().hex[:8]}"
        publisher = Publisher(bootstrap, timeout=3.0)
        runner = ConsumerRunner(
            bootstrap=bootstrap,
            group_id=group,
            topics=[topic],
            handle=handle,
            inbox=DjangoInbox(using=CONSUMER_DB, consumer_group=group),
            publisher=publisher,
            **{**FAST_GROUP, **options},  # type: ignore[arg-type]
        )
        thread = threading.Thread(target=runner.run, name=f"consumer-{group}", daemon=True)
        thread.start()
        consumer = RunningConsumer(runner, thread, group)
        started.append((consumer, publisher))
        return consumer

    yield start
    for consumer, publisher in started:
        consumer.stop()
        publisher.close()


def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 20.0) -> list[ConsumerRecord]:
    """Reads ``topic`` from the beginning without a group until ``count`` records (or timeout)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    records: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] | None = None
        while time.monotonic() < deadline and not partitions:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                time.sleep(0.2)
        if not partitions:
            return records
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        while time.monotonic() < deadline and len(records) < count:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
        if len(records) >= count:
            # Anything beyond the expected count (a duplicate) would show up here.
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


def subprocess_env(bootstrap: str, **extra: str) -> dict[str, str]:
    """The environment of a back-office subprocess that uses this test run's databases."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_backoffice",
        "ENLACE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PYTHONPATH": REPO,
    }
    for service, alias in (("network", PRODUCER_DB), ("billing", CONSUMER_DB)):
        env[f"ENLACE_{service.upper()}_DB_NAME"] = str(connections[alias].settings_dict["NAME"])
    env.update(extra)
    return env


def backoffice_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "backoffice", *args]
