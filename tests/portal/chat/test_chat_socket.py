"""The subscriber's and agents' chat sockets over the real Redis channel layer and PostgreSQL.

Alice and Bob are subscribers; Ana and Carlos are support agents. The bot is not running in
these tests (ENLACE_RASA_URL points at a closed port) unless an agent owns the conversation.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from portal.chat import services
from portal.chat.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from portal.chat.models import Conversation, Message
from tests.fixtures.polling import free_port
from tests.fixtures.sockets import connect_refused
from tests.portal.chat.helpers import (
    ANA_AGENT,
    conversation_for,
    receive_messages,
    receive_until,
    send,
    socket,
)
from tests.portal.conftest import ALICE, BOB

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _rasa_down(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENLACE_RASA_URL = f"http://127.0.0.1:{free_port()}"
    settings.ENLACE_RASA_TIMEOUT_SECONDS = 2


async def _agent_owns(conversation: Conversation) -> None:
    await sync_to_async(services.conversation_take_over)(
        conversation_id=conversation.pk,
        agent_id=ANA_AGENT["id"],
        agent_name=ANA_AGENT["full_name"],
        now=timezone.now(),
    )


async def test_an_anonymous_socket_is_refused() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    communicator = await socket(f"/ws/chat/{conversation.pk}/", None)
    assert await connect_refused(communicator) == CLOSE_UNAUTHENTICATED


async def test_a_socket_from_a_foreign_page_is_refused() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    communicator = await socket(f"/ws/chat/{conversation.pk}/", ALICE, origin=b"https://evil.example")
    await connect_refused(communicator)


async def test_a_subscriber_cannot_join_another_subscribers_conversation() -> None:
    alices = await sync_to_async(conversation_for)(ALICE)
    communicator = await socket(f"/ws/chat/{alices.pk}/", BOB)
    assert await connect_refused(communicator) == CLOSE_FORBIDDEN


async def test_a_subscriber_cannot_use_the_agents_socket() -> None:
    alices = await sync_to_async(conversation_for)(ALICE)
    communicator = await socket(f"/ws/agent/chat/{alices.pk}/", ALICE)
    assert await connect_refused(communicator) == CLOSE_FORBIDDEN


async def test_a_message_reaches_the_agent_live_and_the_agents_reply_reaches_the_subscriber() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    await _agent_owns(conversation)
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE)
    ana = await socket(f"/ws/agent/chat/{conversation.pk}/", ANA_AGENT)
    assert (await alice.connect(timeout=10))[0] and (await ana.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=0)
        await send(ana, type="sync", after=0)
        assert await receive_messages(alice, 1) == [(1, "system", "Ana Agente se unió a la conversación.")]
        assert await receive_messages(ana, 1) == [(1, "system", "Ana Agente se unió a la conversación.")]

        await send(alice, type="message", text="Mi internet no funciona", client_msg_id="a-1")
        assert await receive_messages(ana, 1) == [(2, "subscriber", "Mi internet no funciona")]
        assert await receive_messages(alice, 1) == [(2, "subscriber", "Mi internet no funciona")]

        await send(ana, type="message", text="Revisemos tu router", client_msg_id="n-1")
        assert await receive_messages(alice, 1) == [(3, "agent", "Revisemos tu router")]
        assert await receive_messages(ana, 1) == [(3, "agent", "Revisemos tu router")]
    finally:
        await alice.disconnect()
        await ana.disconnect()


async def test_a_reconnecting_subscriber_gets_exactly_what_they_missed_once() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    await _agent_owns(conversation)
    ana = await socket(f"/ws/agent/chat/{conversation.pk}/", ANA_AGENT)
    assert (await ana.connect(timeout=10))[0]
    await send(ana, type="sync", after=0)
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE)
    assert (await alice.connect(timeout=10))[0]
    await send(alice, type="sync", after=0)
    seen = await receive_messages(alice, 1)
    assert [seq for seq, _, _ in seen] == [1]
    await alice.disconnect()

    # While Alice is away the agent writes twice.
    await send(ana, type="message", text="¿Sigues ahí?", client_msg_id="n-1")
    await send(ana, type="message", text="Ya reinicié tu sesión", client_msg_id="n-2")
    await receive_messages(ana, 3)

    again = await socket(f"/ws/chat/{conversation.pk}/", ALICE)
    assert (await again.connect(timeout=10))[0]
    try:
        await send(again, type="sync", after=1)
        assert await receive_messages(again, 2) == [
            (2, "agent", "¿Sigues ahí?"),
            (3, "agent", "Ya reinicié tu sesión"),
        ]
        # And live messages continue after the replay, without repeating it.
        await send(ana, type="message", text="Listo", client_msg_id="n-3")
        assert await receive_messages(again, 1) == [(4, "agent", "Listo")]
        while not await again.receive_nothing(timeout=0.5):
            assert 'data-seq="' not in await again.receive_from()
    finally:
        await again.disconnect()
        await ana.disconnect()


async def test_a_resent_message_is_stored_once() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    await _agent_owns(conversation)
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE)
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=1)
        await send(alice, type="message", text="Hola", client_msg_id="same-id")
        await send(alice, type="message", text="Hola", client_msg_id="same-id")
        assert await receive_messages(alice, 1) == [(2, "subscriber", "Hola")]
        assert await alice.receive_nothing(timeout=0.5)
    finally:
        await alice.disconnect()
    count = await sync_to_async(Message.objects.filter(conversation=conversation, text="Hola").count)()
    assert count == 1


async def test_typing_and_receipts_reach_the_other_side() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    await _agent_owns(conversation)
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE)
    ana = await socket(f"/ws/agent/chat/{conversation.pk}/", ANA_AGENT)
    assert (await alice.connect(timeout=10))[0] and (await ana.connect(timeout=10))[0]
    try:
        await send(ana, type="sync", after=1)
        await send(alice, type="sync", after=1)
        await send(alice, type="typing")
        assert "está escribiendo" in await receive_until(ana, 'id="chat-typing"')

        await send(alice, type="message", text="¿Me ayudas?", client_msg_id="a-1")
        # The agent's screen got it: Alice sees it delivered.
        assert "Entregado" in await receive_until(alice, 'id="chat-receipt"')
        await send(ana, type="read", seq=2)
        assert "Leído" in await receive_until(alice, 'id="chat-receipt"')
    finally:
        await alice.disconnect()
        await ana.disconnect()
    message = await sync_to_async(Message.objects.get)(conversation=conversation, seq=2)
    assert message.delivered_at is not None and message.read_at is not None


async def test_the_talk_to_an_agent_button_queues_the_conversation_and_says_so() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE, language="en")
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=0)
        await send(alice, type="handoff")
        assert await receive_messages(alice, 1) == [
            (1, "system", "We are putting you through to an agent. Please wait a moment.")
        ]
    finally:
        await alice.disconnect()
    conversation = await sync_to_async(Conversation.objects.get)(pk=conversation.pk)
    assert conversation.state == Conversation.State.QUEUED


async def test_when_rasa_is_down_the_subscriber_is_told_and_the_conversation_is_queued() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE)
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=0)
        await send(alice, type="message", text="hola", client_msg_id="a-1")
        assert await receive_messages(alice, 2) == [
            (1, "subscriber", "hola"),
            (
                2,
                "system",
                "Nuestro asistente no está disponible en este momento. Un asesor te responderá en breve.",
            ),
        ]
    finally:
        await alice.disconnect()
    conversation = await sync_to_async(Conversation.objects.get)(pk=conversation.pk)
    assert conversation.state == Conversation.State.QUEUED
    assert conversation.queued_at is not None


async def test_an_agent_cannot_write_in_a_conversation_they_do_not_own() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    ana = await socket(f"/ws/agent/chat/{conversation.pk}/", ANA_AGENT)
    assert (await ana.connect(timeout=10))[0]
    try:
        await send(ana, type="sync", after=0)
        await send(ana, type="message", text="Hola", client_msg_id="n-1")
        assert 'id="chat-error"' in await receive_until(ana, "chat-error")
    finally:
        await ana.disconnect()
    assert not await sync_to_async(Message.objects.filter(conversation=conversation).exists)()


async def test_an_empty_message_is_refused_with_a_reason() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE)
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE, language="en")
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=0)
        await send(alice, type="message", text="   ", client_msg_id="a-1")
        assert "a message needs some text" in await receive_until(alice, "chat-error")
    finally:
        await alice.disconnect()
