"""The ticket list refuses a filter it does not understand instead of ignoring it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from backoffice.support.models import Ticket

pytestmark = pytest.mark.django_db(databases=["default", "support"])

TICKETS = "/api/support/v1/tickets"


@pytest.mark.parametrize("status", ["bogus", "OPEN", ""])
def test_an_unknown_status_filter_is_a_400_naming_the_status(
    client_as: Callable[[Any], APIClient], bob: Any, status: str
) -> None:
    Ticket.objects.create(client_id=1, subject="Sin internet", created_by="1")

    response = client_as(bob).get(TICKETS, {"status": status})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert list(response.json()["fields"]) == ["status"]


def test_a_known_status_filter_narrows_the_list(client_as: Callable[[Any], APIClient], bob: Any) -> None:
    Ticket.objects.create(client_id=1, subject="Sin internet", created_by="1")
    Ticket.objects.create(client_id=2, subject="Lento", created_by="2", status=Ticket.Status.CLOSED)

    response = client_as(bob).get(TICKETS, {"status": "closed"})

    assert response.status_code == 200
    assert [t["subject"] for t in response.json()["results"]] == ["Lento"]
