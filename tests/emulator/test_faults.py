"""Fault injection: drops, delays, refused logins, outages and one-shot traps."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
import routeros_api
from routeros_api.exceptions import (
    RouterOsApiCommunicationError,
    RouterOsApiConnectionError,
    RouterOsApiError,
)

from netagent.emulator import ApiClient, RouterEmulator

PoolFactory = Callable[..., routeros_api.RouterOsApiPool]


def test_drop_connections_closes_every_open_session(router: RouterEmulator, make_pool: PoolFactory) -> None:
    pool = make_pool()
    api = pool.get_api()
    api.get_resource("/ppp/secret").add(name="kept")
    assert router.connection_count == 1
    assert router.drop_connections() == 1
    with pytest.raises(RouterOsApiError):
        api.get_resource("/ppp/secret").get()
    # The listener stays up: a fresh connection sees the same state.
    assert make_pool().get_api().get_resource("/ppp/secret").get()[0]["name"] == "kept"


def test_reply_delay_slows_every_answer(router: RouterEmulator, raw: ApiClient) -> None:
    router.set_delay(200)
    started = time.monotonic()
    raw.talk("/system/identity/print")
    assert time.monotonic() - started >= 0.19
    router.set_delay(0)
    started = time.monotonic()
    raw.talk("/system/identity/print")
    assert time.monotonic() - started < 0.15


def test_refused_logins_fail_with_the_bad_credentials_message(
    router: RouterEmulator, make_pool: PoolFactory
) -> None:
    router.refuse_logins()
    with pytest.raises(RouterOsApiCommunicationError) as excinfo:
        make_pool().get_api()
    assert excinfo.value.original_message == b"invalid user name or password (6)"
    router.refuse_logins(False)
    assert make_pool().get_api().get_resource("/system/identity").get() == [{"name": "r1"}]


def test_the_router_goes_down_and_comes_back_on_the_same_port_with_its_state(
    router: RouterEmulator, make_pool: PoolFactory
) -> None:
    port = router.port
    pool = make_pool()
    pool.get_api().get_resource("/ip/firewall/address-list").add(list="l", address="10.9.9.9")
    router.go_down()
    assert not router.is_up
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    with pytest.raises(RouterOsApiError):
        pool.get_api().get_resource("/ip/firewall/address-list").get()
    with pytest.raises(RouterOsApiConnectionError):
        make_pool().get_api()
    router.come_up()
    assert router.port == port
    rows = make_pool().get_api().get_resource("/ip/firewall/address-list").get()
    assert [row["address"] for row in rows] == ["10.9.9.9"]


def test_fail_next_traps_only_the_next_matching_command(router: RouterEmulator, raw: ApiClient) -> None:
    router.fail_next("/ppp/secret/add", "failure: out of memory")
    assert raw.talk("/ppp/secret/print", ".tag=1") == [["!done", ".tag=1"]]
    assert raw.talk("/ppp/secret/add", "=name=x", ".tag=2") == [
        ["!trap", ".tag=2", "=message=failure: out of memory"],
        ["!done", ".tag=2"],
    ]
    assert router.items("/ppp/secret") == []
    assert raw.talk("/ppp/secret/add", "=name=x", ".tag=3") == [["!done", ".tag=3", "=ret=*1"]]
