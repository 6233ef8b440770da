"""PPPoE sessions in /ppp/active: dial-in simulation, kicks and redials."""

from __future__ import annotations

import time

import pytest
from routeros_api.api import RouterOsApi

from netagent.emulator import PPPoEError, RouterEmulator
from tests.fixtures.polling import wait_until


def active_names(api: RouterOsApi) -> list[str]:
    rows = api.get_binary_resource("/").call("ppp/active/print", {})
    return [row["name"].decode() for row in rows]


def test_a_session_appears_when_an_enabled_secret_dials_in(api: RouterOsApi, router: RouterEmulator) -> None:
    api.get_resource("/ppp/secret").add(name="cpe1", password="p", remote_address="10.0.0.7")
    entry = router.connect_pppoe("cpe1")
    assert entry["service"] == "pppoe"
    assert entry["address"] == "10.0.0.7"
    row = api.get_resource("/ppp/active").get()[0]
    assert row["name"] == "cpe1"
    assert row["caller-id"].count(":") == 5
    assert row["uptime"].endswith("s")


def test_a_session_gets_a_pool_address_without_remote_address(router: RouterEmulator) -> None:
    router.add("/ppp/secret", name="a")
    router.add("/ppp/secret", name="b")
    assert router.connect_pppoe("a")["address"] != router.connect_pppoe("b")["address"]


def test_disabled_or_unknown_secrets_cannot_dial_in(router: RouterEmulator) -> None:
    router.add("/ppp/secret", name="off", disabled=True)
    with pytest.raises(PPPoEError):
        router.connect_pppoe("off")
    with pytest.raises(PPPoEError):
        router.connect_pppoe("ghost")


def test_removing_the_active_entry_kicks_the_session(api: RouterOsApi, router: RouterEmulator) -> None:
    router.add("/ppp/secret", name="cpe1")
    router.connect_pppoe("cpe1")
    active = api.get_resource("/ppp/active")
    active.remove(id=active.get(name="cpe1")[0]["id"])
    assert active_names(api) == []


def test_disabling_or_removing_the_secret_kicks_its_session(api: RouterOsApi, router: RouterEmulator) -> None:
    secrets = api.get_resource("/ppp/secret")
    secrets.add(name="cpe1")
    secrets.add(name="cpe2")
    router.connect_all()
    assert active_names(api) == ["cpe1", "cpe2"]
    secrets.set(id=secrets.get(name="cpe1")[0]["id"], disabled="yes")
    assert active_names(api) == ["cpe2"]
    secrets.remove(id=secrets.get(name="cpe2")[0]["id"])
    assert active_names(api) == []


def test_connect_all_dials_only_enabled_secrets_that_are_offline(router: RouterEmulator) -> None:
    router.add("/ppp/secret", name="a")
    router.add("/ppp/secret", name="b", disabled="yes")
    router.add("/ppp/secret", name="c", service="l2tp")
    assert [e["name"] for e in router.connect_all()] == ["a"]
    assert router.connect_all() == []


def test_a_kicked_cpe_redials_after_the_configured_delay(api: RouterOsApi, router: RouterEmulator) -> None:
    router.state.redial_after = 0.2
    router.add("/ppp/secret", name="cpe1")
    router.connect_pppoe("cpe1")
    active = api.get_resource("/ppp/active")
    active.remove(id=active.get()[0]["id"])
    assert active_names(api) == []
    wait_until("the CPE dials in again", lambda: router.find("/ppp/active", name="cpe1"), timeout=3.0)


def test_a_disabled_secret_does_not_redial(api: RouterOsApi, router: RouterEmulator) -> None:
    router.state.redial_after = 0.1
    router.add("/ppp/secret", name="cpe1")
    router.connect_pppoe("cpe1")
    router.disconnect_pppoe("cpe1")
    api.get_resource("/ppp/secret").set(id="*1", disabled="yes")
    time.sleep(0.3)
    assert router.items("/ppp/active") == []


def test_auto_dial_connects_secrets_when_added_or_enabled() -> None:
    with RouterEmulator(auto_dial=True) as router:
        router.add("/ppp/secret", name="cpe1")
        assert [e["name"] for e in router.items("/ppp/active")] == ["cpe1"]
        router.add("/ppp/secret", name="cpe2", disabled="yes")
        router.state.execute("/ppp/secret", "enable", {"numbers": "cpe2"}, [])
        assert [e["name"] for e in router.items("/ppp/active")] == ["cpe1", "cpe2"]
