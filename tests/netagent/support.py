"""Helpers of the netagent tests: commands as the network service sends them, and the test's Kafka side."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from kafka import KafkaConsumer

from enlace_messaging.catalog import dlq_topic
from enlace_messaging.envelope import Envelope
from enlace_messaging.publisher import Publisher
from netagent.config import RouterConfig
from netagent.emulator import RouterEmulator
from tests.fixtures.kafka import TansuBroker
from tests.fixtures.polling import wait_until

USER = "enlace"
PASSWORD = "api-s3cret"
# Tansu only hands out partitions after the rebalance timeout: keep group timeouts short.
GROUP_SESSION_TIMEOUT_MS = 3000


def desired(
    subscription_id: int,
    *,
    router: str = "r1",
    revision: int = 1,
    status: str = "active",
    username: str | None = None,
    address: str | None = None,
    download: str = "20M",
    upload: str = "5M",
    profile: str | None = None,
    kick: bool | None = None,
) -> Envelope:
    """A ``network.service.desired`` command as the network service would send it."""
    pppoe: dict[str, Any] = {"username": username or f"cliente{subscription_id}", "password": "pppoe-pass"}
    if profile is not None:
        pppoe["profile"] = profile
    data: dict[str, Any] = {
        "subscription_id": subscription_id,
        "client_id": 1000 + subscription_id,
        "router": router,
        "revision": revision,
        "status": status,
        "pppoe": pppoe,
        "address": address or f"10.20.0.{subscription_id}",
        "speed": {"download": download, "upload": upload},
    }
    if kick is not None:
        data["kick"] = kick
    return Envelope.new(type="network.service.desired", data=data, source="network")


@dataclass
class Received:
    """A record read back from a results or DLQ topic."""

    topic: str
    key: str | None
    value: bytes
    headers: dict[str, bytes]

    @property
    def envelope(self) -> Envelope:
        return Envelope.from_json(self.value)


@dataclass
class Bus:
    """The test's side of Kafka: sends commands, reads results and dead letters."""

    broker: TansuBroker
    commands: str
    results: str
    publisher: Publisher
    reader: KafkaConsumer
    seen: list[Received] = field(default_factory=list)

    @property
    def dlq(self) -> str:
        return dlq_topic(self.commands)

    def send(self, envelope: Envelope, key: str | None = None) -> Envelope:
        self.publisher.publish(self.commands, key or envelope.data.get("router"), envelope)
        return envelope

    def send_raw(self, value: bytes, key: str = "r1") -> None:
        self.publisher.publish_raw(self.commands, key, value)

    def _drain(self) -> None:
        for records in self.reader.poll(timeout_ms=100).values():
            for r in records:
                self.seen.append(
                    Received(r.topic, r.key.decode() if r.key else None, r.value, dict(r.headers or []))
                )

    def result(self, type: str, timeout: float = 20.0, **match: Any) -> Envelope:
        """The first result of ``type`` whose data has the ``match`` values (waits for it)."""

        def find() -> Envelope | None:
            self._drain()
            for found in self.results_of(type, **match):
                return found
            return None

        found: Envelope = wait_until(f"a result {type} {match}", find, timeout=timeout, interval=0)
        return found

    def results_of(self, type: str, **match: Any) -> list[Envelope]:
        out = []
        for record in self.seen:
            if record.topic != self.results:
                continue
            envelope = record.envelope
            if envelope.type == type and all(envelope.data.get(k) == v for k, v in match.items()):
                out.append(envelope)
        return out

    def poll_results_of(self, type: str, **match: Any) -> list[Envelope]:
        """Like :meth:`results_of`, after reading what has arrived."""
        self._drain()
        return self.results_of(type, **match)

    def dead_letter(self, timeout: float = 20.0) -> Received:
        def find() -> Received | None:
            self._drain()
            return next((r for r in self.seen if r.topic == self.dlq), None)

        found: Received = wait_until("a dead-lettered record", find, timeout=timeout, interval=0)
        return found

    def settle(self, seconds: float = 1.0) -> None:
        """Reads whatever arrives within ``seconds`` (to show that nothing more comes)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._drain()


def router_config(name: str, emulator: RouterEmulator, **overrides: Any) -> RouterConfig:
    return replace(
        RouterConfig(
            name=name, host="127.0.0.1", port=emulator.port, username=USER, password=PASSWORD, timeout=2.0
        ),
        **overrides,
    )
