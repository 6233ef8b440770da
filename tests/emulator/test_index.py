"""The emulator's indexes by name/address/list give the same answers as scanning would."""

from __future__ import annotations

import pytest

from netagent.emulator import ApiTrap, RouterState


def names(state: RouterState, path: str, *queries: str) -> list[str]:
    return [row.get("name") or row["address"] for row in state.execute(path, "print", {}, list(queries)).rows]


def test_lookups_follow_renames_removals_and_unsets() -> None:
    state = RouterState()
    first = state.add("/queue/simple", name="a", target="10.0.0.1")
    state.add("/queue/simple", name="b", target="10.0.0.2")
    state.execute("/queue/simple", "set", {".id": first, "name": "c"}, [])

    assert names(state, "/queue/simple", "?name=a") == []
    assert names(state, "/queue/simple", "?name=c") == ["c"]
    with pytest.raises(ApiTrap, match="already have such name"):
        state.add("/queue/simple", name="c", target="10.0.0.3")
    state.add("/queue/simple", name="a", target="10.0.0.3")  # the old name is free again

    state.execute("/queue/simple", "remove", {".id": first}, [])
    assert names(state, "/queue/simple", "?name=c") == []
    assert names(state, "/queue/simple") == ["b", "a"]  # print order kept

    state.add("/ppp/secret", name="s1", comment="x")
    state.execute("/ppp/secret", "unset", {"numbers": "s1", "value-name": "comment"}, [])
    assert names(state, "/ppp/secret", "?name=s1", "?comment=x") == []
    assert names(state, "/ppp/secret", "?name=s1") == ["s1"]


def test_address_list_queries_and_uniqueness_use_list_and_address_together() -> None:
    state = RouterState()
    state.add("/ip/firewall/address-list", list="morosos", address="10.0.0.1")
    state.add("/ip/firewall/address-list", list="other", address="10.0.0.1")
    state.add("/ip/firewall/address-list", list="morosos", address="10.0.0.2")
    with pytest.raises(ApiTrap, match="already have such entry"):
        state.add("/ip/firewall/address-list", list="morosos", address="10.0.0.1")

    rows = state.execute(
        "/ip/firewall/address-list", "print", {}, ["?list=morosos", "?address=10.0.0.1"]
    ).rows
    assert [(r["list"], r["address"]) for r in rows] == [("morosos", "10.0.0.1")]
    # Operations and comparisons are not indexed: still evaluated over the whole menu.
    rows = state.execute(
        "/ip/firewall/address-list", "print", {}, ["?address=10.0.0.2", "?list=other", "?#|"]
    ).rows
    assert [(r["list"], r["address"]) for r in rows] == [("other", "10.0.0.1"), ("morosos", "10.0.0.2")]


def test_sessions_are_found_by_name_after_kicks_and_redials() -> None:
    state = RouterState(auto_dial=True)
    state.add("/ppp/secret", name="cpe", service="pppoe")
    assert [r["name"] for r in state.execute("/ppp/active", "print", {}, ["?name=cpe"]).rows] == ["cpe"]
    assert state.disconnect_pppoe("cpe") == 1
    assert state.execute("/ppp/active", "print", {}, ["?name=cpe"]).rows == []
    state.connect_pppoe("cpe")
    assert len(state.execute("/ppp/active", "print", {}, ["?name=cpe"]).rows) == 1
