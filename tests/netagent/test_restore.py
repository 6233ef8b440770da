"""A router that comes back empty (replaced, reset) or rebooted is restored at once, unasked."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from netagent.agent import Netagent
from netagent.emulator import RouterEmulator
from netagent.liveness import RouterWatch, uptime_seconds
from netagent.routeros import RouterClient, RouterError
from tests.netagent.support import PASSWORD, USER, Bus, desired, eventually, router_config

APPLIED = "network.command.applied"
RECONCILED = "network.router.reconciled"

StartAgent = Callable[..., Netagent]


def served(router: RouterEmulator, subscription_id: int, *, suspended: bool) -> bool:
    """Whether ``router`` holds the subscription's secret and queue, and lists it in morosos
    exactly when ``suspended``."""
    username, address = f"cliente{subscription_id}", f"10.20.0.{subscription_id}"
    listed = bool(router.find("/ip/firewall/address-list", list="morosos", address=address))
    return (
        bool(router.find("/ppp/secret", name=username, disabled="false"))
        and bool(router.find("/queue/simple", name=f"enlace-{username}"))
        and listed == suspended
    )


@pytest.fixture
def replacement() -> Iterator[list[RouterEmulator]]:
    """Emulators a test starts in place of another; stopped after the test."""
    started: list[RouterEmulator] = []
    yield started
    for emulator in started:
        emulator.stop()


def test_a_router_replaced_by_an_empty_one_gets_every_subscription_back_without_a_command(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator, replacement: list[RouterEmulator]
) -> None:
    # No periodic reconcile: only the reconnection can bring the subscribers back.
    start_agent(reconcile_interval=0, probe_interval=0.2)
    wanted = {1: False, 2: False, 3: True}
    for subscription_id, suspended in wanted.items():
        status = "suspended" if suspended else "active"
        bus.result(APPLIED, command_id=bus.send(desired(subscription_id, status=status)).id)
    assert all(served(r1, sub, suspended=suspended) for sub, suspended in wanted.items())

    r1.stop()  # killed: every connection cut, the port closed
    fresh = RouterEmulator(identity="r1", username=USER, password=PASSWORD, port=r1.port).start()
    replacement.append(fresh)
    assert fresh.items("/ppp/secret") == []
    eventually(lambda: fresh.connection_count > 0, timeout=15)  # the netagent is back

    eventually(lambda: all(served(fresh, sub, suspended=s) for sub, s in wanted.items()), timeout=10)
    report = bus.result(RECONCILED, router="r1")
    assert report.causation_id is None  # nobody commanded it
    assert sorted(report.data["repaired"]) == sorted(
        [f"sub {sub}: secret cliente{sub} created" for sub in wanted]
        + [f"sub {sub}: queue enlace-cliente{sub} created" for sub in wanted]
        + ["sub 3: suspension entry 10.20.0.3 added"]
    )


def test_a_command_waiting_for_a_replaced_router_is_applied_and_the_others_are_restored(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator, replacement: list[RouterEmulator]
) -> None:
    start_agent(reconcile_interval=0, probe_interval=0)  # no probes: the command finds the loss
    bus.result(APPLIED, command_id=bus.send(desired(1)).id)
    bus.result(APPLIED, command_id=bus.send(desired(2)).id)

    r1.stop()  # the lane's connection is cut: its next call fails, whenever it comes
    suspension = bus.send(desired(2, revision=2, status="suspended"))
    fresh = RouterEmulator(identity="r1", username=USER, password=PASSWORD, port=r1.port).start()
    replacement.append(fresh)

    bus.result(APPLIED, command_id=suspension.id)
    assert served(fresh, 2, suspended=True)
    assert served(fresh, 1, suspended=False)


def test_a_router_whose_uptime_went_backwards_is_seen_as_rebooted(r1: RouterEmulator) -> None:
    client = RouterClient(router_config("r1", r1))
    watch = RouterWatch(client)
    try:
        r1.state.started = time.monotonic() - 3600  # up for an hour
        watch.probe()
        watch.probe()
        assert not watch.needs_restore

        r1.state.started = time.monotonic()  # rebooted, the same connection still open
        watch.probe()
        assert watch.needs_restore

        watch.restored()
        watch.probe()
        assert not watch.needs_restore
    finally:
        client.close()


def test_a_router_that_could_not_be_reached_needs_restoring(r1: RouterEmulator) -> None:
    client = RouterClient(router_config("r1", r1, timeout=0.5))
    watch = RouterWatch(client)
    try:
        watch.probe()
        r1.go_down()
        with pytest.raises(RouterError):
            watch.probe()
        r1.come_up()
        watch.probe()
        assert watch.needs_restore
    finally:
        client.close()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("59s", 59), ("1w2d3h4m5s", 788645), ("3h", 10800), ("2d03:04:05", 183845)],
)
def test_router_uptimes_are_read_in_seconds(text: str, seconds: int) -> None:
    assert uptime_seconds(text) == seconds


def test_an_uptime_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError):
        uptime_seconds("soon")
