"""Tickets' life: who opens them from where, the allowed status moves, comments, and the events
every change writes to the support outbox.

Alice is the subscriber of client 1, Charlie of client 2, Bob an agent, and the bot a service
holding support.read and support.write.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from backoffice.identity.models import OAuthClientScopes
from backoffice.support.models import Ticket
from enlace_messaging import catalog
from enlace_messaging.django.models import OutboxMessage

pytestmark = pytest.mark.django_db(databases=["default", "support"])

TICKETS = "/api/support/v1/tickets"
BOT_SECRET = "the-bot-secret"


def _outbox(type_: str | None = None) -> list[dict[str, Any]]:
    rows = OutboxMessage.objects.using("support").order_by("id")
    if type_:
        rows = rows.filter(message_type=type_)
    return [{"topic": row.topic, "key": row.key, **json.loads(bytes(row.payload))} for row in rows]


@pytest.fixture
def the_bot(db: None) -> APIClient:
    """An API client carrying the bot's client-credentials token (support scopes only)."""
    app = Application.objects.create(
        name="bot",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=BOT_SECRET,
    )
    OAuthClientScopes.objects.create(application=app, scopes=["support.read", "support.write"])
    basic = base64.b64encode(f"{app.client_id}:{BOT_SECRET}".encode()).decode()
    answer = APIClient().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert answer.status_code == 200, answer.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access_token']}")
    return client


@pytest.fixture
def alices_ticket(client_as: Callable[[Any], APIClient], alice: Any) -> dict[str, Any]:
    response = client_as(alice).post(TICKETS, {"subject": "Sin internet desde ayer"}, format="json")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def test_the_bot_opens_a_ticket_from_a_conversation_and_it_is_announced(the_bot: APIClient) -> None:
    response = the_bot.post(
        TICKETS,
        {"client_id": 1, "subject": "Desde el chat", "source": "bot", "conversation_id": "conv-7"},
        format="json",
    )

    assert response.status_code == 201, response.content
    ticket = response.json()
    assert (ticket["status"], ticket["source"], ticket["conversation_id"]) == ("new", "bot", "conv-7")
    [event] = _outbox("support.ticket.created")
    assert event["topic"] == catalog.SUPPORT_EVENTS
    assert event["key"] == str(ticket["id"])
    assert event["data"]["client_id"] == 1
    assert event["data"]["source"] == "bot"
    assert event["data"]["conversation_id"] == "conv-7"


def test_a_subscribers_ticket_comes_from_the_portal_whatever_source_she_claims(
    client_as: Callable[[Any], APIClient], alice: Any
) -> None:
    response = client_as(alice).post(TICKETS, {"subject": "Lento", "source": "bot"}, format="json")

    assert response.json()["source"] == "portal"


def test_an_agents_ticket_is_an_agent_ticket(client_as: Callable[[Any], APIClient], bob: Any) -> None:
    response = client_as(bob).post(TICKETS, {"subject": "Llamó por teléfono", "client_id": 2}, format="json")

    assert response.status_code == 201
    assert response.json()["source"] == "agent"


def test_an_agent_without_a_client_gets_a_400_naming_client_id(
    client_as: Callable[[Any], APIClient], bob: Any
) -> None:
    response = client_as(bob).post(TICKETS, {"subject": "x"}, format="json")

    assert response.status_code == 400
    assert "client_id" in response.json()["fields"]


def test_alice_reads_her_ticket(
    client_as: Callable[[Any], APIClient], alice: Any, alices_ticket: dict
) -> None:
    response = client_as(alice).get(f"{TICKETS}/{alices_ticket['id']}")

    assert response.status_code == 200
    assert response.json()["subject"] == "Sin internet desde ayer"


def test_charlie_gets_a_404_for_alices_ticket_as_for_a_missing_one(
    client_as: Callable[[Any], APIClient], charlie: Any, alices_ticket: dict
) -> None:
    mine = client_as(charlie).get(f"{TICKETS}/{alices_ticket['id']}")
    missing = client_as(charlie).get(f"{TICKETS}/999999")

    assert mine.status_code == missing.status_code == 404
    assert mine.json()["error"] == "not_found"
    comment = client_as(charlie).post(
        f"{TICKETS}/{alices_ticket['id']}/comments", {"body": "hola"}, format="json"
    )
    assert comment.status_code == 404


def test_an_agent_moves_a_ticket_along_the_workflow_and_each_move_is_announced(
    client_as: Callable[[Any], APIClient], bob: Any, alices_ticket: dict
) -> None:
    agent = client_as(bob)
    url = f"{TICKETS}/{alices_ticket['id']}"

    moves = [
        agent.patch(url, {"status": s}, format="json") for s in ("open", "pending", "resolved", "closed")
    ]

    assert [m.status_code for m in moves] == [200, 200, 200, 200]
    events = _outbox("support.ticket.updated")
    assert [(e["data"]["previous_status"], e["data"]["status"]) for e in events] == [
        ("new", "open"),
        ("open", "pending"),
        ("pending", "resolved"),
        ("resolved", "closed"),
    ]
    assert {e["data"]["change"] for e in events} == {"status"}


def test_a_closed_ticket_cannot_be_reopened(
    client_as: Callable[[Any], APIClient], bob: Any, alices_ticket: dict
) -> None:
    url = f"{TICKETS}/{alices_ticket['id']}"
    client_as(bob).patch(url, {"status": "closed"}, format="json")

    response = client_as(bob).patch(url, {"status": "open"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "invalid_transition"
    assert Ticket.objects.get(pk=alices_ticket["id"]).status == "closed"


def test_setting_the_same_status_changes_nothing_and_announces_nothing(
    client_as: Callable[[Any], APIClient], bob: Any, alices_ticket: dict
) -> None:
    response = client_as(bob).patch(f"{TICKETS}/{alices_ticket['id']}", {"status": "new"}, format="json")

    assert response.status_code == 200
    assert _outbox("support.ticket.updated") == []


def test_an_unknown_status_is_a_400(
    client_as: Callable[[Any], APIClient], bob: Any, alices_ticket: dict
) -> None:
    response = client_as(bob).patch(f"{TICKETS}/{alices_ticket['id']}", {"status": "lost"}, format="json")

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_alice_may_close_her_ticket_but_not_mark_it_resolved(
    client_as: Callable[[Any], APIClient], alice: Any, alices_ticket: dict
) -> None:
    url = f"{TICKETS}/{alices_ticket['id']}"

    resolved = client_as(alice).patch(url, {"status": "resolved"}, format="json")
    closed = client_as(alice).patch(url, {"status": "closed"}, format="json")

    assert resolved.status_code == 403
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"


def test_alices_reply_to_a_ticket_waiting_for_her_reopens_it(
    client_as: Callable[[Any], APIClient], alice: Any, bob: Any, alices_ticket: dict
) -> None:
    url = f"{TICKETS}/{alices_ticket['id']}"
    client_as(bob).patch(url, {"status": "pending"}, format="json")
    client_as(bob).post(f"{url}/comments", {"body": "¿Ya reinició el router?"}, format="json")

    reply = client_as(alice).post(f"{url}/comments", {"body": "Sí, y sigue igual"}, format="json")

    assert reply.status_code == 201
    assert reply.json()["by_subscriber"] is True
    assert client_as(alice).get(url).json()["status"] == "open"
    comments = client_as(alice).get(f"{url}/comments").json()
    assert comments["count"] == 2
    assert [c["body"] for c in comments["results"]] == ["¿Ya reinició el router?", "Sí, y sigue igual"]
    last = _outbox("support.ticket.updated")[-1]["data"]
    assert (last["change"], last["previous_status"], last["status"]) == ("comment", "pending", "open")
    assert last["comment_id"] == reply.json()["id"]


def test_a_closed_ticket_takes_no_comment(
    client_as: Callable[[Any], APIClient], alice: Any, alices_ticket: dict
) -> None:
    url = f"{TICKETS}/{alices_ticket['id']}"
    client_as(alice).patch(url, {"status": "closed"}, format="json")

    response = client_as(alice).post(f"{url}/comments", {"body": "otra cosa"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "ticket_closed"


def test_nora_of_the_noc_cannot_comment(
    client_as: Callable[[Any], APIClient], nora: Any, alices_ticket: dict
) -> None:
    response = client_as(nora).post(f"{TICKETS}/{alices_ticket['id']}/comments", {"body": "x"}, format="json")

    assert response.status_code == 403


def test_the_openapi_schema_documents_pages_and_every_refusal(
    client_as: Callable[[Any], APIClient], bob: Any
) -> None:
    schema = APIClient().get("/api/support/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    listing = schema["paths"]["/api/support/v1/tickets"]["get"]["responses"]
    assert set(listing) == {"200", "400", "401", "403", "404"}  # 404: a page past the last
    page = listing["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][page]["properties"]) == {
        "count",
        "next",
        "previous",
        "results",
    }
    change = schema["paths"]["/api/support/v1/tickets/{ticket_id}"]["patch"]["responses"]
    assert set(change) == {"200", "400", "401", "403", "404", "409"}
