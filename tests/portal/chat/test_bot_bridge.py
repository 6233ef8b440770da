"""The bridge against a real Rasa server and action server (tests/fixtures/rasa.py).

The conversation's id is Rasa's sender id and the subscriber's language reaches the bot, so
"hola" is greeted in Spanish and an English subscriber's "hello" in English: the action server's
``action_session_start`` sets the bot's language from the signed metadata (the portal does not
write the bot's tracker). While an agent owns the conversation the bot receives nothing; after
the hand-back it answers again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from portal.chat import services
from portal.chat.models import Conversation
from portal.chat.rasa_client import rasa_client
from tests.fixtures.rasa import RasaBot, rasa_bot
from tests.portal.chat.helpers import ALICE_EN, ANA_AGENT, conversation_for, receive_messages, send, socket
from tests.portal.conftest import ALICE

pytestmark = pytest.mark.django_db(transaction=True)
METADATA_KEY = "bridge-test-key"


@pytest.fixture(scope="module", name="bot")
def bot_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaBot]:
    with rasa_bot(tmp_path_factory.mktemp("rasa"), {"ENLACE_CHATBOT_METADATA_KEY": METADATA_KEY}) as bot:
        yield bot


@pytest.fixture(autouse=True)
def _portal_uses_the_bot(bot: RasaBot, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENLACE_RASA_URL = bot.url
    settings.ENLACE_RASA_TIMEOUT_SECONDS = 30
    settings.ENLACE_CHATBOT_METADATA_KEY = METADATA_KEY


async def test_hola_is_greeted_in_spanish() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE, language="es")
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE, language="es")
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=0)
        await send(alice, type="message", text="hola", client_msg_id="a-1")
        (_, _, question), (seq, sender, answer) = await receive_messages(alice, 2, timeout=30)
        assert question == "hola"
        assert (seq, sender) == (2, "bot")
        assert answer.startswith("¡Hola! Soy el asistente de Enlace.")
    finally:
        await alice.disconnect()


async def test_hello_is_greeted_in_english_for_an_english_subscriber() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE_EN, language="en")
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE_EN, language="en")
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=0)
        await send(alice, type="message", text="hello", client_msg_id="a-1")
        _, (_, sender, answer) = await receive_messages(alice, 2, timeout=30)
        assert sender == "bot"
        assert answer.startswith("Hi! I'm Enlace's assistant.")
    finally:
        await alice.disconnect()


async def test_a_subscriber_who_switches_to_english_is_answered_in_english() -> None:
    conversation = await sync_to_async(conversation_for)(ALICE, language="es")
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE, language="es")
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=0)
        await send(alice, type="message", text="hola", client_msg_id="a-1")
        _, (_, _, spanish) = await receive_messages(alice, 2, timeout=30)
    finally:
        await alice.disconnect()
    # Alice switches the portal to English and opens the chat again.
    await sync_to_async(conversation_for)(ALICE, language="en")
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE, language="en")
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=2)
        await send(alice, type="message", text="hi", client_msg_id="a-2")
        _, (_, sender, english) = await receive_messages(alice, 2, timeout=30)
    finally:
        await alice.disconnect()

    assert spanish.startswith("¡Hola! Soy el asistente de Enlace.")
    assert sender == "bot"
    assert english.startswith("Hi! I'm Enlace's assistant.")


async def test_the_bot_is_silent_while_an_agent_owns_the_conversation_and_answers_after_the_hand_back() -> (
    None
):
    conversation = await sync_to_async(conversation_for)(ALICE, language="es")
    await sync_to_async(services.conversation_take_over)(
        conversation_id=conversation.pk, agent_id=ANA_AGENT["id"], agent_name="Ana Agente", now=timezone.now()
    )
    alice = await socket(f"/ws/chat/{conversation.pk}/", ALICE)
    assert (await alice.connect(timeout=10))[0]
    try:
        await send(alice, type="sync", after=1)
        await send(alice, type="message", text="hola", client_msg_id="a-1")
        assert await receive_messages(alice, 1) == [(2, "subscriber", "hola")]
        # Rasa would greet within a fraction of this; nothing comes while Ana has it.
        assert await alice.receive_nothing(timeout=3) or "chat-msg" not in await alice.receive_from()

        await rasa_client().resume(sender_id=str(conversation.pk))
        await sync_to_async(services.conversation_hand_back)(
            conversation_id=conversation.pk, agent_id=ANA_AGENT["id"], now=timezone.now()
        )
        await send(alice, type="message", text="hola", client_msg_id="a-2")
        got = await receive_messages(alice, 3, timeout=30)
        assert [sender for _, sender, _ in got] == ["system", "subscriber", "bot"]
        assert got[-1][2].startswith("¡Hola! Soy el asistente de Enlace.")
    finally:
        await alice.disconnect()
    stored = await sync_to_async(Conversation.objects.get)(pk=conversation.pk)
    assert stored.state == Conversation.State.BOT
