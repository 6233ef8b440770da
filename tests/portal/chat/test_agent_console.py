"""The agent console over HTTP: the queue, take-over races, hand-back, resolve, context, transcript.

Ana and Carlos are agents; Alice is a subscriber. The context test signs the demo agent into a
real back office (identity + network); its clients, billing and support parts may not exist
there yet, and must then say "no disponible" without breaking the page.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.chat import services
from portal.chat.models import Conversation, Message
from tests.fixtures.polling import free_port
from tests.portal.chat.helpers import ANA_AGENT, CARLOS_AGENT, conversation_for
from tests.portal.conftest import ALICE, session_for
from tests.portal.identity_server import DEMO_PASSWORD, IdentityServer

pytestmark = pytest.mark.django_db(transaction=True)


def _browser(user: dict[str, Any]) -> Client:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    return client


def test_a_subscriber_is_refused_the_agent_console() -> None:
    assert _browser(ALICE).get(reverse("chat:agent-console")).status_code == 403


def test_the_queue_shows_the_waiting_conversation_with_its_wait() -> None:
    conversation = conversation_for(ALICE)
    services.conversation_queue(
        conversation_id=conversation.pk, reason=services.QUEUED_ON_REQUEST, now=timezone.now()
    )
    page = _browser(ANA_AGENT).get(reverse("chat:agent-console")).content.decode()
    assert f'data-conversation="{conversation.pk}"' in page
    assert "esperando 0 s" in page or "esperando 1 s" in page


def test_the_subscribers_chat_panel_opens_their_own_conversation() -> None:
    response = _browser(ALICE).get(reverse("chat:panel"))
    assert response.status_code == 200
    conversation = Conversation.objects.get(subscriber_user_id=ALICE["id"])
    assert f'ws-connect="/ws/chat/{conversation.pk}/"' in response.content.decode()
    assert "Hablar con un asesor" not in response.content.decode()  # the state arrives over the socket


def test_of_two_agents_taking_the_same_conversation_at_once_exactly_one_wins() -> None:
    conversation = conversation_for(ALICE)
    services.conversation_queue(
        conversation_id=conversation.pk, reason=services.QUEUED_ON_REQUEST, now=timezone.now()
    )
    url = reverse("chat:agent-take-over", args=[conversation.pk])
    browsers = {"ana": _browser(ANA_AGENT), "carlos": _browser(CARLOS_AGENT)}
    start = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def take(name: str) -> None:
        start.wait()
        answers[name] = browsers[name].post(url, HTTP_HX_REQUEST="true")

    threads = [threading.Thread(target=take, args=(name,)) for name in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(answer.status_code for answer in answers.values())
    assert statuses == [200, 409]
    conversation.refresh_from_db()
    winner = "ana" if conversation.owner_agent_id == ANA_AGENT["id"] else "carlos"
    loser = "carlos" if winner == "ana" else "ana"
    assert answers[winner].status_code == 200
    winner_name = ANA_AGENT["full_name"] if winner == "ana" else CARLOS_AGENT["full_name"]
    assert f"{winner_name} ya atiende esta conversación." in answers[loser].content.decode()
    assert Message.objects.filter(conversation=conversation, payload__code=services.AGENT_JOINED).count() == 1


def test_only_the_owner_can_resolve_and_the_subscriber_is_asked_to_rate() -> None:
    conversation = conversation_for(ALICE)
    services.conversation_take_over(
        conversation_id=conversation.pk, agent_id=ANA_AGENT["id"], agent_name="Ana Agente", now=timezone.now()
    )
    url = reverse("chat:agent-resolve", args=[conversation.pk])
    assert _browser(CARLOS_AGENT).post(url).status_code == 409
    assert _browser(ANA_AGENT).post(url).status_code == 200
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.RESOLVED
    services.conversation_rate(conversation_id=conversation.pk, rating="5", now=timezone.now())
    conversation.refresh_from_db()
    assert conversation.rating == 5


def test_a_hand_back_while_the_bot_is_down_keeps_the_conversation_with_the_agent(settings: Any) -> None:
    settings.ENLACE_RASA_URL = f"http://127.0.0.1:{free_port()}"
    settings.ENLACE_RASA_TIMEOUT_SECONDS = 2
    conversation = conversation_for(ALICE)
    services.conversation_take_over(
        conversation_id=conversation.pk, agent_id=ANA_AGENT["id"], agent_name="Ana Agente", now=timezone.now()
    )
    response = _browser(ANA_AGENT).post(reverse("chat:agent-hand-back", args=[conversation.pk]))
    assert response.status_code == 502
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.AGENT


def test_the_transcript_is_emailed_in_the_subscribers_language() -> None:
    conversation = conversation_for(ALICE)
    services.conversation_take_over(
        conversation_id=conversation.pk, agent_id=ANA_AGENT["id"], agent_name="Ana Agente", now=timezone.now()
    )
    services.message_post_by_subscriber(
        conversation_id=conversation.pk, text="Sin internet", client_msg_id="a", now=timezone.now()
    )
    services.message_post_by_agent(
        conversation_id=conversation.pk,
        agent_id=ANA_AGENT["id"],
        agent_name="Ana Agente",
        text="Ya lo reviso",
        client_msg_id="n",
        now=timezone.now(),
    )
    response = _browser(ANA_AGENT).post(
        reverse("chat:agent-transcript", args=[conversation.pk]), {"email": ""}
    )
    assert response.status_code == 200
    [email] = mail.outbox
    assert email.to == [ALICE["email"]]
    assert email.subject == "Tu conversación con el soporte de Enlace"
    assert "Ana Agente se unió a la conversación." in email.body
    assert "Alice Andrade: Sin internet" in email.body
    assert "Ana Agente: Ya lo reviso" in email.body


def test_a_transcript_to_a_malformed_address_is_refused() -> None:
    conversation = conversation_for(ALICE)
    response = _browser(ANA_AGENT).post(
        reverse("chat:agent-transcript", args=[conversation.pk]), {"email": "nope"}
    )
    assert response.status_code == 422
    assert not mail.outbox


def test_the_context_shows_the_subscribers_service_from_the_network_service_and_marks_the_rest(
    network_demo: IdentityServer, identity: IdentityServer, settings: Any
) -> None:
    settings.ENLACE_CLIENTS_URL = settings.ENLACE_BILLING_URL = identity.url
    settings.ENLACE_SUPPORT_URL = f"http://127.0.0.1:{free_port()}"  # down
    browser = Client(REMOTE_ADDR="203.0.113.200")
    signed_in = browser.post(
        reverse("portal:sign-in"), {"email": "agent@enlace.demo", "password": DEMO_PASSWORD}
    )
    assert signed_in.status_code == 302
    conversation = conversation_for({**ALICE, "client_id": 1})

    page = browser.get(reverse("chat:agent-context", args=[conversation.pk])).content.decode()

    services_part = page.split('data-testid="context-services">')[1].split("</dd>")[0]
    assert "#1001" in services_part and "hogar-20" in services_part
    tickets_part = page.split('data-testid="context-tickets">')[1].split("</dd>")[0]
    assert "no disponible" in tickets_part
