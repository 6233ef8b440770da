"""Personas and helpers of the portal tests (run with --ds=tests.settings_portal)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings

from portal.accounts import SESSION_USER
from tests.portal.identity_server import (  # noqa: F401
    identity_fixture,
    identity_server_fixture,
    network_demo_fixture,
)

ALICE: dict[str, Any] = {
    "id": 101,
    "email": "alice@example.ec",
    "full_name": "Alice Andrade",
    "roles": ["subscriber"],
    "client_id": 1,
    "language": "es",
    "email_verified": True,
}
BOB: dict[str, Any] = {
    **ALICE,
    "id": 102,
    "email": "bob@example.ec",
    "full_name": "Bob Benítez",
    "client_id": 2,
}


def session_for(user: dict[str, Any] | None) -> str:
    """A stored portal session (signed in as ``user`` when given); returns its key."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["created_by"] = "tests"
    if user is not None:
        store[SESSION_USER] = user
    store.save()
    return str(store.session_key)


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    # channels keeps one layer object per process; its Redis pools belong to the event loop
    # of the test that made them, so each test gets a new one.
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
