"""Tickets: staff see all, a subscriber only their own client's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from backoffice.support.models import Ticket

pytestmark = pytest.mark.django_db(databases=["default", "support"])

TICKETS = "/api/support/v1/tickets"


@pytest.fixture
def tickets(db: None) -> None:
    Ticket.objects.create(client_id=1, subject="Sin internet", created_by="1")
    Ticket.objects.create(client_id=2, subject="Lento por la noche", created_by="2")


def test_alice_lists_only_her_clients_tickets(
    client_as: Callable[[Any], APIClient], alice: Any, tickets: None
) -> None:
    response = client_as(alice).get(TICKETS)

    assert response.status_code == 200
    assert [t["subject"] for t in response.json()["results"]] == ["Sin internet"]


def test_alice_cannot_ask_for_charlies_tickets(
    client_as: Callable[[Any], APIClient], alice: Any, tickets: None
) -> None:
    response = client_as(alice).get(TICKETS, {"client_id": 2})

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_alice_opens_a_ticket_for_her_own_client(client_as: Callable[[Any], APIClient], alice: Any) -> None:
    response = client_as(alice).post(TICKETS, {"subject": "Router apagado"}, format="json")

    assert response.status_code == 201
    assert response.json()["client_id"] == 1
    assert response.json()["created_by"] == str(alice.pk)


def test_alice_cannot_open_a_ticket_for_charlies_client(
    client_as: Callable[[Any], APIClient], alice: Any
) -> None:
    response = client_as(alice).post(TICKETS, {"subject": "x", "client_id": 2}, format="json")

    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_bob_the_agent_sees_every_ticket(
    client_as: Callable[[Any], APIClient], bob: Any, tickets: None
) -> None:
    response = client_as(bob).get(TICKETS)

    assert response.json()["count"] == 2


def test_nora_of_the_noc_has_no_access_to_tickets(client_as: Callable[[Any], APIClient], nora: Any) -> None:
    assert client_as(nora).get(TICKETS).status_code == 403


def test_an_anonymous_request_is_401(api_client: APIClient, db: None) -> None:
    assert api_client.get(TICKETS).status_code == 401


def test_an_invalid_status_filter_is_a_400_naming_the_field(
    client_as: Callable[[Any], APIClient], bob: Any
) -> None:
    response = client_as(bob).get(TICKETS, {"status": "lost"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert "status" in response.json()["fields"]
