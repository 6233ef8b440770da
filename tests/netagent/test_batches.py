"""A router lane's batch: one state commit and one results publish, per-command guarantees kept
(against an emulated router over TCP; the results sink is in memory)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pytest

from enlace_messaging.envelope import Envelope
from netagent.apply import ApplySettings
from netagent.commands import APPLIED, FAILED, CommandHandler, Delivery
from netagent.emulator import RouterEmulator
from netagent.errors import RouterError
from netagent.metrics import Metrics
from netagent.routeros import RouterClient
from netagent.state import StateStore
from tests.netagent.support import desired, router_config


class MemorySink:
    """Results and dead letters kept in memory; ``publish_many`` calls counted."""

    def __init__(self) -> None:
        self.results: list[Envelope] = []
        self.dead: list[str] = []
        self.batches = 0

    def publish(self, envelope: Envelope, *, key: str) -> None:
        self.results.append(envelope)

    def publish_many(self, results: Sequence[tuple[Envelope, str]]) -> None:
        self.batches += 1
        self.results += [envelope for envelope, _ in results]

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self.dead.append(reason)


class FlakyClient(RouterClient):
    """Fails the ``n``-th address-list add once, as a lost connection would."""

    def __init__(self, *args: object, fail_at: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.adds = 0
        self.fail_at = fail_at

    def add(self, path: str, props: Mapping[str, str]) -> str | None:
        if path == "/ip/firewall/address-list":
            self.adds += 1
            if self.adds == self.fail_at:
                raise RouterError("connection lost", permanent=False, router=self.name)
        return super().add(path, props)


@pytest.fixture
def store() -> Iterator[StateStore]:
    store = StateStore(":memory:")
    yield store
    store.close()


def delivery(envelope: Envelope, offset: int) -> Delivery:
    return Delivery("commands", 0, offset, b"r1", envelope.to_json(), envelope=envelope)


def handler_for(store: StateStore, sink: MemorySink) -> CommandHandler:
    return CommandHandler(store=store, settings=ApplySettings(), sink=sink, metrics=Metrics())


def test_a_batch_applies_in_order_with_one_publish_and_later_revisions_see_earlier_ones(
    r1: RouterEmulator, store: StateStore
) -> None:
    sink = MemorySink()
    handler = handler_for(store, sink)
    client = RouterClient(router_config("r1", r1))
    r1.state.auto_dial = True
    provision, suspend = desired(7), desired(7, revision=2, status="suspended")
    batch = [delivery(provision, 0), delivery(suspend, 1), delivery(desired(7, revision=1), 2)]

    handler.router_batch(client, batch)

    assert all(d.done for d in batch)
    assert sink.batches == 1
    assert [(e.type, e.data["revision"]) for e in sink.results] == [(APPLIED, 1), (APPLIED, 2)]
    applied = store.service_get(7)
    assert applied is not None and applied.revision == 2
    assert store.command_processed(provision.id) and store.command_processed(suspend.id)
    assert r1.find("/ip/firewall/address-list", address="10.20.0.7")
    assert r1.find("/ppp/active", name="cliente7") == []  # the suspension kicked (not a replay)
    client.close()


def test_a_transient_failure_mid_batch_finishes_what_was_applied_and_the_retry_resumes(
    r1: RouterEmulator, store: StateStore
) -> None:
    sink = MemorySink()
    handler = handler_for(store, sink)
    client = FlakyClient(router_config("r1", r1), fail_at=2)
    batch = [delivery(desired(n, status="suspended"), n) for n in (1, 2, 3)]

    with pytest.raises(RouterError):
        handler.router_batch(client, batch)

    assert [d.done for d in batch] == [True, False, False]
    assert [e.data["subscription_id"] for e in sink.results] == [1]
    handler.router_batch(client, [d for d in batch if not d.done])
    assert all(d.done for d in batch)
    assert [e.data["subscription_id"] for e in sink.results] == [1, 2, 3]
    client.close()


def test_a_permanent_failure_mid_batch_is_reported_after_the_results_before_it(
    r1: RouterEmulator, store: StateStore
) -> None:
    sink = MemorySink()
    handler = handler_for(store, sink)
    client = RouterClient(router_config("r1", r1))
    handler.router_batch(client, [delivery(desired(n), n) for n in (1, 2, 3)])
    sink.results.clear()
    batch = [delivery(desired(n, revision=2, status="suspended"), 10 + n) for n in (1, 2, 3)]
    client_adds = FlakyPermanent(router_config("r1", r1), fail_at=2)  # the router refuses the 2nd

    handler.router_batch(client_adds, batch)

    assert all(d.done for d in batch)
    assert [(e.type, e.data["subscription_id"]) for e in sink.results] == [
        (APPLIED, 1),
        (FAILED, 2),
        (APPLIED, 3),
    ]
    assert sink.dead == ["not enough permissions"]
    client.close()
    client_adds.close()


class FlakyPermanent(FlakyClient):
    def add(self, path: str, props: Mapping[str, str]) -> str | None:
        if path == "/ip/firewall/address-list":
            self.adds += 1
            if self.adds == self.fail_at:
                raise RouterError("not enough permissions", permanent=True, router=self.name)
        return RouterClient.add(self, path, props)
