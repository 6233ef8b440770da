"""Which address identity counts a request against: only trusted proxies can vouch for another."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from backoffice.access.client_ip import client_ip


@pytest.fixture(autouse=True)
def _proxies(settings: Any) -> None:
    settings.ENLACE_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]


def _ip(remote: str, forwarded: str | None = None) -> str | None:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def test_a_forged_header_from_an_untrusted_peer_is_ignored() -> None:
    assert _ip("192.0.2.50", "10.0.0.1, 203.0.113.9") == "192.0.2.50"


def test_the_rightmost_entry_that_is_not_a_trusted_proxy_is_the_client() -> None:
    # The client wrote "198.51.100.1" itself; 203.0.113.9 is who the proxies saw.
    assert _ip("127.0.0.1", "198.51.100.1, 203.0.113.9, 10.1.2.3") == "203.0.113.9"


def test_proxies_are_trusted_by_network_for_ipv4_and_ipv6() -> None:
    assert _ip("10.20.30.40", "203.0.113.9") == "203.0.113.9"
    assert _ip("2001:db8::7", "2001:db8:1::1, 2a00:1450::5") == "2a00:1450::5"


def test_without_a_header_a_trusted_peer_is_the_client() -> None:
    assert _ip("127.0.0.1") == "127.0.0.1"


def test_when_every_hop_is_trusted_the_leftmost_is_the_client() -> None:
    assert _ip("127.0.0.1", "10.0.0.9, 10.0.0.8") == "10.0.0.9"


def test_a_garbage_entry_stops_the_walk_at_the_last_trusted_hop() -> None:
    assert _ip("127.0.0.1", "203.0.113.9, not-an-ip, 10.0.0.8") == "10.0.0.8"


def test_an_ipv4_peer_on_a_dual_stack_socket_is_matched_as_ipv4() -> None:
    assert _ip("::ffff:10.0.0.5", "203.0.113.9") == "203.0.113.9"


def test_a_setting_that_is_not_an_address_stops_with_its_name(settings: Any) -> None:
    settings.ENLACE_TRUSTED_PROXIES = ["10.0.0.0/8", "portal.internal"]
    with pytest.raises(ImproperlyConfigured, match=r"'portal\.internal'"):
        _ip("127.0.0.1")
