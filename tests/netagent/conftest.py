"""Fixtures: two emulated routers over TCP, this test's topics on the session's Tansu broker, agents.

Every test gets its own command/result topics and consumer group, so tests sharing the
broker never see each other's messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.structs import TopicPartition

from enlace_messaging.catalog import dlq_topic
from enlace_messaging.publisher import Publisher
from netagent.agent import Netagent
from netagent.config import KafkaConfig, NetagentConfig
from netagent.emulator import RouterEmulator
from tests.fixtures.kafka import TansuBroker
from tests.netagent.support import GROUP_SESSION_TIMEOUT_MS, PASSWORD, USER, Bus, router_config


@pytest.fixture
def bus(kafka_broker: TansuBroker) -> Iterator[Bus]:
    suffix = uuid.uuid4().hex[:8]
    commands = f"test.netagent.{suffix}.commands"
    results = f"test.netagent.{suffix}.results"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    admin.create_topics(
        [
            NewTopic(name, num_partitions=n, replication_factor=1)
            for name, n in ((commands, 3), (results, 1), (dlq_topic(commands), 1))
        ]
    )
    admin.close()
    publisher = Publisher(kafka_broker.bootstrap, timeout=10.0)
    reader = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(results, 0), TopicPartition(dlq_topic(commands), 0)]
    reader.assign(partitions)
    reader.seek_to_beginning(*partitions)
    yield Bus(kafka_broker, commands, results, publisher, reader)
    reader.close()
    publisher.close()


@pytest.fixture
def r1() -> Iterator[RouterEmulator]:
    with RouterEmulator(identity="r1", username=USER, password=PASSWORD) as emulator:
        yield emulator


@pytest.fixture
def r2() -> Iterator[RouterEmulator]:
    with RouterEmulator(identity="r2", username=USER, password=PASSWORD) as emulator:
        yield emulator


@pytest.fixture
def agent_config(bus: Bus, r1: RouterEmulator, r2: RouterEmulator, tmp_path: Path) -> NetagentConfig:
    """The config of a netagent for r1 and r2 reading this test's topics."""
    return NetagentConfig(
        routers=(router_config("r1", r1), router_config("r2", r2)),
        kafka=KafkaConfig(
            bootstrap_servers=(bus.broker.bootstrap,),
            group_id=f"netagent-{uuid.uuid4().hex[:8]}",
            commands_topic=bus.commands,
            results_topic=bus.results,
            session_timeout_ms=GROUP_SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=1000,
            max_poll_interval_ms=3000,
        ),
        state_file=str(tmp_path / "netagent.sqlite3"),
        reconcile_interval=0,
        metrics_port=0,
        metrics_address="127.0.0.1",
        retry_initial=0.1,
        retry_max=0.5,
        diagnose_timeout=2.0,
    )


@pytest.fixture
def start_agent(agent_config: NetagentConfig) -> Iterator[Callable[..., Netagent]]:
    """Starts a netagent (config overrides as keywords) and stops it after the test."""
    agents: list[Netagent] = []

    def start(**overrides: Any) -> Netagent:
        agent = Netagent(replace(agent_config, **overrides)).start()
        agents.append(agent)
        assert agent.wait_assigned(timeout=30), "the consumer group never assigned partitions"
        return agent

    yield start
    for agent in agents:
        agent.stop()
