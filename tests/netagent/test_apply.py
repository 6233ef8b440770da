"""The applier and the RouterOS client against an emulated router over TCP (no Kafka)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netagent.apply import (
    ApplySettings,
    DesiredService,
    ItemCache,
    router_reconcile,
    service_apply,
    session_diagnose,
)
from netagent.emulator import RouterEmulator
from netagent.errors import RouterError
from netagent.routeros import RouterClient
from tests.netagent.support import desired, router_config

SETTINGS = ApplySettings()


@pytest.fixture
def client(r1: RouterEmulator) -> Iterator[RouterClient]:
    client = RouterClient(router_config("r1", r1))
    yield client
    client.close()


def service(subscription_id: int = 7, **changes: object) -> DesiredService:
    return DesiredService.from_data(desired(subscription_id, **changes).data)  # type: ignore[arg-type]


def kicks(router: RouterEmulator) -> int:
    return sum(1 for sentence in router.received if sentence[0] == "/ppp/active/remove")


def test_an_active_service_gets_its_secret_and_a_queue_with_the_normalised_limit(
    client: RouterClient, r1: RouterEmulator
) -> None:
    report = service_apply(client, service(), SETTINGS, previous=None, replay=False)

    secret = r1.find("/ppp/secret", name="cliente7")[0]
    assert secret["password"] == "pppoe-pass"
    assert secret["remote-address"] == "10.20.0.7"
    assert secret["disabled"] == "false"
    assert secret["comment"] == "enlace:sub=7"
    queue = r1.find("/queue/simple", name="enlace-cliente7")[0]
    assert queue["max-limit"] == "5000000/20000000"
    assert queue["target"] == "10.20.0.7/32"
    assert r1.items("/ip/firewall/address-list") == []
    assert report.changes == ["secret cliente7 created", "queue enlace-cliente7 created"]
    assert report.online is False


def test_applying_the_same_state_again_changes_nothing(client: RouterClient, r1: RouterEmulator) -> None:
    wanted = service(status="suspended")
    service_apply(client, wanted, SETTINGS, previous=None, replay=False)
    before = (r1.items("/ppp/secret"), r1.items("/queue/simple"), r1.items("/ip/firewall/address-list"))

    report = service_apply(client, wanted, SETTINGS, previous=wanted, replay=True)

    assert report.changes == []
    assert (
        r1.items("/ppp/secret"),
        r1.items("/queue/simple"),
        r1.items("/ip/firewall/address-list"),
    ) == before


def test_suspension_lists_the_address_and_kicks_the_session_only_once(
    client: RouterClient, r1: RouterEmulator
) -> None:
    active = service()
    service_apply(client, active, SETTINGS, previous=None, replay=False)
    r1.connect_pppoe("cliente7")
    suspended = service(status="suspended", revision=2)

    report = service_apply(client, suspended, SETTINGS, previous=active, replay=False)

    assert report.kicked
    assert r1.find("/ip/firewall/address-list", list="morosos", address="10.20.0.7")
    assert r1.items("/ppp/active") == []
    r1.connect_pppoe("cliente7")
    service_apply(client, suspended, SETTINGS, previous=suspended, replay=True)
    assert kicks(r1) == 1
    assert len(r1.items("/ppp/active")) == 1


def test_a_username_change_moves_everything_to_the_new_name(client: RouterClient, r1: RouterEmulator) -> None:
    old = service()
    service_apply(client, old, SETTINGS, previous=None, replay=False)

    service_apply(client, service(revision=2, username="nuevo7"), SETTINGS, previous=old, replay=False)

    assert [s["name"] for s in r1.items("/ppp/secret")] == ["nuevo7"]
    assert [q["name"] for q in r1.items("/queue/simple")] == ["enlace-nuevo7"]


def test_termination_removes_secret_queue_and_suspension_entry(
    client: RouterClient, r1: RouterEmulator
) -> None:
    suspended = service(status="suspended")
    service_apply(client, suspended, SETTINGS, previous=None, replay=False)
    r1.add("/ppp/secret", name="someone-else")

    service_apply(
        client, service(status="terminated", revision=2), SETTINGS, previous=suspended, replay=False
    )

    assert [s["name"] for s in r1.items("/ppp/secret")] == ["someone-else"]
    assert r1.items("/queue/simple") == []
    assert r1.items("/ip/firewall/address-list") == []


def test_profile_mode_gives_the_secret_a_plan_profile_with_the_rate_limit(
    client: RouterClient, r1: RouterEmulator
) -> None:
    settings = ApplySettings(speed_mode="profile")

    service_apply(client, service(), settings, previous=None, replay=False)

    profile = r1.find("/ppp/profile", name="enlace-20M-5M")[0]
    assert profile["rate-limit"] == "5000000/20000000"
    assert r1.find("/ppp/secret", name="cliente7")[0]["profile"] == "enlace-20M-5M"
    assert r1.items("/queue/simple") == []


def test_reconcile_repairs_hand_edits_and_reports_them(client: RouterClient, r1: RouterEmulator) -> None:
    suspended = service(status="suspended")
    service_apply(client, suspended, SETTINGS, previous=None, replay=False)
    entry = r1.items("/ip/firewall/address-list")[0][".id"]
    r1.state.run("/ip/firewall/address-list/remove", {".id": entry}, [])
    r1.state.run("/ppp/secret/disable", {"numbers": "cliente7"}, [])
    r1.state.run("/queue/simple/set", {"numbers": "enlace-cliente7", "max-limit": "1M/1M"}, [])

    repaired = router_reconcile(client, [suspended], SETTINGS)

    assert repaired == [
        "sub 7: secret cliente7 updated (disabled)",
        "sub 7: queue enlace-cliente7 updated (max-limit)",
        "sub 7: suspension entry 10.20.0.7 added",
    ]
    assert r1.find("/ppp/secret", name="cliente7")[0]["disabled"] == "false"
    assert r1.find("/queue/simple", name="enlace-cliente7")[0]["max-limit"] == "5000000/20000000"
    assert r1.find("/ip/firewall/address-list", list="morosos", address="10.20.0.7")
    assert router_reconcile(client, [suspended], SETTINGS) == []


def test_reconcile_can_remove_tagged_items_of_unknown_subscriptions(
    client: RouterClient, r1: RouterEmulator
) -> None:
    service_apply(client, service(8), SETTINGS, previous=None, replay=False)
    r1.add("/ppp/secret", name="manual", comment="not ours")

    repaired = router_reconcile(client, [], SETTINGS, remove_unknown=True)

    assert len(repaired) == 2
    assert [s["name"] for s in r1.items("/ppp/secret")] == ["manual"]


def test_diagnose_reads_the_live_session(client: RouterClient, r1: RouterEmulator) -> None:
    service_apply(client, service(), SETTINGS, previous=None, replay=False)
    assert session_diagnose(client, "cliente7").online is False
    r1.connect_pppoe("cliente7", caller_id="AA:BB:CC:DD:EE:FF")

    diagnosis = session_diagnose(client, "cliente7")

    assert diagnosis.online
    assert diagnosis.address == "10.20.0.7"
    assert diagnosis.caller_id == "AA:BB:CC:DD:EE:FF"
    assert diagnosis.uptime is not None and diagnosis.uptime.endswith("s")


def test_the_client_treats_existing_and_missing_items_as_done(
    client: RouterClient, r1: RouterEmulator
) -> None:
    assert client.add("/ip/firewall/address-list", {"list": "morosos", "address": "10.0.0.1"}) == "*1"
    assert client.add("/ip/firewall/address-list", {"list": "morosos", "address": "10.0.0.1"}) is None
    assert client.add("/ppp/secret", {"name": "x"}) is not None
    assert client.add("/ppp/secret", {"name": "x"}) is None
    assert client.remove("/ip/firewall/address-list", "*1") is True
    assert client.remove("/ip/firewall/address-list", "*1") is False


def test_the_client_reports_refusals_as_permanent_with_the_routers_text(
    client: RouterClient, r1: RouterEmulator
) -> None:
    with pytest.raises(RouterError) as bad_profile:
        client.add("/ppp/secret", {"name": "x", "profile": "no-such-plan"})
    r1.fail_next("/queue/simple/add", "not enough permissions (9)")
    with pytest.raises(RouterError) as denied:
        client.add("/queue/simple", {"name": "q", "target": "10.0.0.1"})

    assert bad_profile.value.permanent
    assert bad_profile.value.message == "input does not match any value of profile"
    assert denied.value.permanent
    assert denied.value.message == "not enough permissions (9)"


def test_the_client_reports_an_unreachable_router_as_transient_and_reconnects(
    client: RouterClient, r1: RouterEmulator
) -> None:
    assert client.print("/ppp/secret") == []
    r1.go_down()
    with pytest.raises(RouterError) as down:
        client.print("/ppp/secret")
    assert not down.value.permanent
    r1.come_up()
    assert client.print("/ppp/secret") == []


def test_the_client_reports_refused_logins_as_transient(client: RouterClient, r1: RouterEmulator) -> None:
    r1.refuse_logins()
    with pytest.raises(RouterError) as refused:
        client.print("/ppp/secret")
    assert not refused.value.permanent
    assert "invalid user name or password" in refused.value.message


def calls(router: RouterEmulator) -> list[str]:
    """The command words the router received (``/ppp/secret/print``...), oldest first."""
    return [sentence[0] for sentence in router.received if sentence[0] != "/login"]


def test_a_suspension_asks_for_its_own_entry_and_reads_back_only_what_it_wrote(
    client: RouterClient, r1: RouterEmulator
) -> None:
    active = service()
    service_apply(client, active, SETTINGS, previous=None, replay=False)
    for n in range(20, 40):  # other subscribers already suspended on the router
        r1.add("/ip/firewall/address-list", list="morosos", address=f"10.20.1.{n}")
    r1.connect_pppoe("cliente7")
    r1.received.clear()

    report = service_apply(
        client, service(status="suspended", revision=2), SETTINGS, previous=active, replay=False
    )

    assert calls(r1) == [
        "/ppp/secret/print",
        "/queue/simple/print",
        "/ip/firewall/address-list/print",
        "/ip/firewall/address-list/add",
        "/ppp/active/print",
        "/ppp/active/remove",
    ]
    entry_print = next(s for s in r1.received if s[0] == "/ip/firewall/address-list/print")
    assert "?address=10.20.0.7" in entry_print and "?list=morosos" in entry_print
    assert report.kicked is True and report.online is False
    assert r1.find("/ip/firewall/address-list", address="10.20.0.7")


def test_the_cache_skips_proven_items_and_a_reconcile_finds_and_repairs_a_hand_deleted_one(
    client: RouterClient, r1: RouterEmulator
) -> None:
    cache = ItemCache()
    active = service()
    service_apply(client, active, SETTINGS, previous=None, replay=False, cache=cache)
    assert len(cache) == 2
    queue_id = r1.find("/queue/simple", name="enlace-cliente7")[0][".id"]
    r1.state.run("/queue/simple/remove", {".id": queue_id}, [])
    r1.connect_pppoe("cliente7")
    r1.received.clear()

    suspended = service(status="suspended", revision=2)
    service_apply(client, suspended, SETTINGS, previous=active, replay=False, cache=cache)

    # Secret and queue were proven by the previous command: not printed again (4 calls).
    assert calls(r1) == [
        "/ip/firewall/address-list/print",
        "/ip/firewall/address-list/add",
        "/ppp/active/print",
        "/ppp/active/remove",
    ]
    assert r1.find("/queue/simple", name="enlace-cliente7") == []  # not noticed by a command

    repaired = router_reconcile(client, [suspended], SETTINGS, cache=cache)

    assert repaired == ["sub 7: queue enlace-cliente7 created"]
    assert r1.find("/queue/simple", name="enlace-cliente7")[0]["max-limit"] == "5000000/20000000"
    r1.received.clear()
    service_apply(client, service(revision=3), SETTINGS, previous=suspended, replay=False, cache=cache)
    assert "/queue/simple/print" not in calls(r1)  # proven again by the reconcile


def test_a_changed_item_is_printed_and_written_despite_the_cache_and_failures_empty_it(
    client: RouterClient, r1: RouterEmulator
) -> None:
    cache = ItemCache()
    active = service()
    service_apply(client, active, SETTINGS, previous=None, replay=False, cache=cache)

    faster = service(revision=2, download="50M")
    report = service_apply(client, faster, SETTINGS, previous=active, replay=False, cache=cache)

    assert report.changes == ["queue enlace-cliente7 updated (max-limit)"]
    r1.go_down()
    try:
        with pytest.raises(RouterError):
            service_apply(client, service(revision=3), SETTINGS, previous=faster, replay=False, cache=cache)
    finally:
        r1.come_up()
    assert len(cache) == 0


def test_the_buffered_connection_reads_replies_larger_than_its_buffer(
    client: RouterClient, r1: RouterEmulator
) -> None:
    for n in range(600):
        r1.add("/ppp/secret", name=f"s{n}", comment="x" * 200)  # ~150 KiB of reply

    rows = client.print("/ppp/secret")

    assert [row["name"] for row in rows] == [f"s{n}" for n in range(600)]
    assert client.print("/ppp/secret", name="s599")[0]["comment"] == "x" * 200
