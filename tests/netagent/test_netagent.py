"""The netagent end to end: commands over a real Tansu broker, two emulated routers over TCP."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

from enlace_messaging.envelope import Envelope
from netagent.agent import Netagent
from netagent.emulator import RouterEmulator
from tests.fixtures.polling import wait_until
from tests.netagent.support import Bus, desired

APPLIED = "network.command.applied"
FAILED = "network.command.failed"

StartAgent = Callable[..., Netagent]


def owned_by(router: RouterEmulator, username: str) -> tuple[list[dict[str, str]], ...]:
    """The secret, queue and address-list entries of ``username``, as the router prints them."""
    return (
        router.find("/ppp/secret", name=username),
        router.find("/queue/simple", name=f"enlace-{username}"),
        router.find(
            "/ip/firewall/address-list", comment=router.find("/ppp/secret", name=username)[0]["comment"]
        ),
    )


def test_an_active_service_is_provisioned_on_its_router_and_the_other_router_is_untouched(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator, r2: RouterEmulator
) -> None:
    start_agent()
    command = bus.send(desired(42, router="r1", download="20M", upload="5M"))

    applied = bus.result(APPLIED, command_id=command.id)

    assert applied.causation_id == command.id
    assert applied.data == {
        "command_id": command.id,
        "subscription_id": 42,
        "router": "r1",
        "revision": 1,
        "status": "active",
        "online": False,
    }
    assert r1.find("/ppp/secret", name="cliente42")[0]["remote-address"] == "10.20.0.42"
    assert r1.find("/queue/simple", name="enlace-cliente42")[0]["max-limit"] == "5000000/20000000"
    assert r2.items("/ppp/secret") == []
    assert r2.items("/queue/simple") == []


def test_a_plan_change_updates_the_speed_and_kicks_the_session_and_termination_removes_everything(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    bus.result(APPLIED, command_id=bus.send(desired(5)).id)
    r1.connect_pppoe("cliente5")

    change = bus.send(desired(5, revision=2, download="50M", upload="10M", kick=True))
    bus.result(APPLIED, command_id=change.id)

    assert r1.find("/queue/simple", name="enlace-cliente5")[0]["max-limit"] == "10000000/50000000"
    assert r1.find("/ppp/active", name="cliente5") == []

    r1.connect_pppoe("cliente5")
    end = bus.send(desired(5, revision=3, status="terminated"))
    assert bus.result(APPLIED, command_id=end.id).data["status"] == "terminated"

    assert r1.items("/ppp/secret") == []
    assert r1.items("/queue/simple") == []
    assert r1.items("/ppp/active") == []


def test_suspension_lists_the_address_and_kicks_the_session_and_reactivation_unlists_it(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    bus.result(APPLIED, command_id=bus.send(desired(9)).id)
    r1.connect_pppoe("cliente9")

    bus.result(APPLIED, command_id=bus.send(desired(9, revision=2, status="suspended")).id)

    entry = r1.find("/ip/firewall/address-list", list="morosos")
    assert [(e["address"], e["comment"]) for e in entry] == [("10.20.0.9", "enlace:sub=9")]
    assert r1.find("/ppp/active", name="cliente9") == []
    assert r1.find("/ppp/secret", name="cliente9")[0]["disabled"] == "false"

    bus.result(APPLIED, command_id=bus.send(desired(9, revision=3, status="active")).id)

    assert r1.items("/ip/firewall/address-list") == []


def test_a_repeated_command_or_an_older_revision_changes_nothing_and_kicks_no_one_again(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    first = desired(3)
    bus.result(APPLIED, command_id=bus.send(first).id)
    r1.connect_pppoe("cliente3")
    suspend = bus.send(desired(3, revision=2, status="suspended"))
    bus.result(APPLIED, command_id=suspend.id)
    assert r1.find("/ppp/active", name="cliente3") == []
    r1.connect_pppoe("cliente3")
    session = r1.find("/ppp/active", name="cliente3")[0]
    state = owned_by(r1, "cliente3")
    removes_before = sum(1 for s in r1.received if s[0].endswith("/remove"))
    adds_before = sum(1 for s in r1.received if s[0].endswith("/add"))

    bus.send(suspend)  # the very same message again
    bus.send(first)  # an older revision after the newer one
    same_revision = bus.send(desired(3, revision=2, status="suspended"))  # a re-sent revision
    marker = bus.send(desired(99))  # same router, so it is handled after the three above
    bus.result(APPLIED, command_id=marker.id)

    assert owned_by(r1, "cliente3") == state
    assert r1.find("/ppp/active", name="cliente3") == [session]
    assert sum(1 for s in r1.received if s[0].endswith("/remove")) == removes_before
    # Only the marker's secret and queue were added.
    assert sum(1 for s in r1.received if s[0].endswith("/add")) == adds_before + 2
    bus.result(APPLIED, command_id=same_revision.id)  # re-verified and confirmed
    bus.settle(0.5)
    assert len(bus.results_of(APPLIED, command_id=suspend.id)) == 1
    assert len(bus.results_of(APPLIED, command_id=first.id)) == 1


def test_commands_for_a_down_router_wait_and_apply_in_order_while_the_other_router_proceeds(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator, r2: RouterEmulator
) -> None:
    start_agent()
    r1.go_down()
    sent = [
        bus.send(desired(1, router="r1")),
        bus.send(desired(1, router="r1", revision=2, status="suspended")),
        bus.send(desired(2, router="r1")),
    ]
    other = bus.send(desired(50, router="r2"))

    bus.result(APPLIED, command_id=other.id, timeout=10)
    assert r2.find("/ppp/secret", name="cliente50")
    assert bus.results_of(APPLIED, router="r1") == []

    r1.come_up()
    for command in sent:
        bus.result(APPLIED, command_id=command.id)

    order = [e.data["command_id"] for e in bus.results_of(APPLIED, router="r1")]
    assert order == [c.id for c in sent]
    assert r1.find("/ip/firewall/address-list", list="morosos", address="10.20.0.1")
    assert [s["name"] for s in r1.items("/ppp/secret")] == ["cliente1", "cliente2"]


def test_an_address_list_entry_deleted_by_hand_is_restored_by_a_reconcile_command(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    bus.result(APPLIED, command_id=bus.send(desired(4, status="suspended")).id)
    entry = r1.find("/ip/firewall/address-list", list="morosos")[0]
    r1.state.run("/ip/firewall/address-list/remove", {".id": entry[".id"]}, [])

    reconcile = bus.send(
        Envelope.new(type="network.router.reconcile", data={"router": "r1"}, source="network")
    )
    report = bus.result("network.router.reconciled", router="r1")

    assert report.causation_id == reconcile.id
    assert report.data["repaired"] == ["sub 4: suspension entry 10.20.0.4 added"]
    assert r1.find("/ip/firewall/address-list", list="morosos", address="10.20.0.4")


def test_drift_is_repaired_periodically_without_a_command(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent(reconcile_interval=0.5)
    bus.result(APPLIED, command_id=bus.send(desired(6)).id)
    r1.state.run("/ppp/secret/disable", {"numbers": "cliente6"}, [])

    report = bus.result("network.router.reconciled", router="r1")

    assert report.data["repaired"] == ["sub 6: secret cliente6 updated (disabled)"]
    assert r1.find("/ppp/secret", name="cliente6")[0]["disabled"] == "false"


def test_a_permanent_error_is_reported_and_dead_lettered_and_the_next_command_applies(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    bad = bus.send(desired(11, profile="no-such-plan"))
    good = bus.send(desired(12))

    failed = bus.result(FAILED, command_id=bad.id)
    bus.result(APPLIED, command_id=good.id)
    dead = bus.dead_letter()

    assert failed.data["error"] == "input does not match any value of profile"
    assert failed.data["permanent"] is True
    assert failed.data["subscription_id"] == 11
    assert json.loads(dead.value)["id"] == bad.id
    assert dead.headers["dlq-reason"] == b"input does not match any value of profile"
    assert dead.key == "r1"
    assert [s["name"] for s in r1.items("/ppp/secret")] == ["cliente12"]


def test_invalid_records_and_unknown_routers_go_to_the_dead_letter_topic(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    bus.send_raw(b"not json at all")
    bus.result(FAILED, router="r9", command_id=bus.send(desired(13, router="r9")).id)
    bus.settle(0.5)

    reasons = sorted(r.headers["dlq-reason"].decode() for r in bus.seen if r.topic == bus.dlq)

    assert len(reasons) == 2
    assert reasons[0].startswith("not JSON")
    assert reasons[1] == "router 'r9' is not configured on this netagent"
    assert r1.items("/ppp/secret") == []


def test_diagnose_answers_with_the_sessions_address_and_uptime(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    bus.result(APPLIED, command_id=bus.send(desired(21)).id)
    r1.connect_pppoe("cliente21", caller_id="AA:BB:CC:00:11:22")
    request = bus.send(
        Envelope.new(
            type="network.service.diagnose",
            data={"request_id": "chat-1", "subscription_id": 21, "router": "r1", "username": "cliente21"},
            source="network",
        )
    )

    answer = bus.result("network.diagnosis.completed", request_id="chat-1")

    assert answer.causation_id == request.id
    assert answer.data["online"] is True
    assert answer.data["address"] == "10.20.0.21"
    assert answer.data["caller_id"] == "AA:BB:CC:00:11:22"
    assert answer.data["uptime"].endswith("s")


def test_metrics_count_applied_commands_per_router(bus: Bus, start_agent: StartAgent) -> None:
    agent = start_agent()
    bus.result(APPLIED, command_id=bus.send(desired(31)).id)

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{agent.metrics_port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    text = wait_until(
        "metrics for router r1", lambda: (t := scrape()) and 'router="r1"' in t and t, timeout=15
    )
    assert 'netagent_commands_applied_total{router="r1",type="network.service.desired"} 1.0' in text
    assert 'netagent_router_up{router="r1"} 1.0' in text
    assert "netagent_apply_seconds_bucket" in text


def test_a_diagnosis_does_not_wait_behind_a_long_queue_for_its_router(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    bus.result(APPLIED, command_id=bus.send(desired(1)).id)
    r1.connect_pppoe("cliente1")
    r1.set_delay(20)  # every reply 20 ms: the batch below takes seconds
    batch = [bus.send(desired(n)) for n in range(100, 120)]

    bus.send(
        Envelope.new(
            type="network.service.diagnose",
            data={"request_id": "chat-2", "subscription_id": 1, "router": "r1", "username": "cliente1"},
            source="network",
        )
    )

    assert bus.result("network.diagnosis.completed", request_id="chat-2").data["online"] is True
    assert bus.poll_results_of(APPLIED, command_id=batch[-1].id) == []
    r1.set_delay(0)
    bus.result(APPLIED, command_id=batch[-1].id, timeout=40)


def test_commands_for_other_sites_routers_can_be_skipped_silently(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent(ignore_unknown_routers=True)
    bus.send(desired(14, router="elsewhere"))
    marker = bus.send(desired(15, router="r1"))

    bus.result(APPLIED, command_id=marker.id)
    bus.settle(0.5)

    assert bus.poll_results_of(FAILED) == []
    assert not [r for r in bus.seen if r.topic == bus.dlq]
