"""Fixtures: a live emulator on a free port, a routeros-api connection and a raw client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import routeros_api
from routeros_api.api import RouterOsApi

from netagent.emulator import ApiClient, RouterEmulator

USER = "admin"
PASSWORD = "s3cret"


@pytest.fixture
def router() -> Iterator[RouterEmulator]:
    with RouterEmulator(identity="r1", username=USER, password=PASSWORD) as emulator:
        yield emulator


@pytest.fixture
def make_pool(router: RouterEmulator) -> Iterator[Callable[..., routeros_api.RouterOsApiPool]]:
    """Factory for routeros-api pools aimed at ``router``; all are disconnected afterwards."""
    pools: list[routeros_api.RouterOsApiPool] = []

    def factory(password: str = PASSWORD) -> routeros_api.RouterOsApiPool:
        pool = routeros_api.RouterOsApiPool(
            "127.0.0.1", username=USER, password=password, port=router.port, plaintext_login=True
        )
        pool.set_timeout(10)
        pools.append(pool)
        return pool

    yield factory
    for pool in pools:
        pool.disconnect()


@pytest.fixture
def pool(make_pool: Callable[..., routeros_api.RouterOsApiPool]) -> routeros_api.RouterOsApiPool:
    return make_pool()


@pytest.fixture
def api(pool: routeros_api.RouterOsApiPool) -> RouterOsApi:
    return pool.get_api()


@pytest.fixture
def raw(router: RouterEmulator) -> Iterator[ApiClient]:
    with ApiClient("127.0.0.1", router.port) as client:
        assert client.login(USER, PASSWORD) == [["!done"]]
        yield client
