"""The bridge between a conversation and the Rasa bot.

The conversation's id is Rasa's sender id. Each subscriber message the bot should answer is sent
in a background task (the socket keeps serving meanwhile), signed with who the subscriber is;
the answers are stored and pushed like any message. When the bot asks for a human, or Rasa or an
action fails or times out, the conversation goes to the human queue and the subscriber is told.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from chatbot.metadata import sign
from portal.chat import selectors, services
from portal.chat.errors import BotUnavailable
from portal.chat.rasa_client import rasa_client

logger = logging.getLogger(__name__)

# Background tasks are kept referenced until they finish (asyncio holds only weak references).
_tasks: set[asyncio.Task[None]] = set()
# One bot call at a time per conversation, so answers come back in the order of the questions.
# Keyed by event loop too (a lock belongs to one loop); gone once no task holds it.
_locks: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = weakref.WeakValueDictionary()


def _lock(conversation_id: int) -> asyncio.Lock:
    key = (id(asyncio.get_running_loop()), conversation_id)
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    return lock


def sender_id(conversation_id: int) -> str:
    return str(int(conversation_id))


def bot_ask_later(*, conversation_id: int, text: str) -> asyncio.Task[None]:
    """Asks the bot in the background; the caller does not wait for the answer."""
    task = asyncio.get_running_loop().create_task(bot_ask(conversation_id=conversation_id, text=text))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


async def _session_restart(conversation_id: int, metadata: dict[str, object]) -> None:
    """Starts a new bot session in the subscriber's new language: Rasa runs the action server's
    ``action_session_start``, which sets the ``language`` slot from this message's signed
    metadata (the portal never writes the bot's tracker itself)."""
    await rasa_client().message_send(
        sender_id=sender_id(conversation_id), text="/session_start", metadata=metadata
    )


async def bot_ask(*, conversation_id: int, text: str) -> None:
    """Sends ``text`` to the bot for the conversation and stores its answer (nothing reaches the
    bot once a human has the conversation); a failure queues the conversation for a human."""
    async with _lock(conversation_id):
        conversation = await database_sync_to_async(selectors.conversation_get)(
            conversation_id=conversation_id
        )
        if conversation.state != conversation.State.BOT:
            return
        claims = {
            "client_id": conversation.client_id,
            "user_id": conversation.subscriber_user_id,
            "language": conversation.language,
            "conversation_id": conversation.pk,
        }
        try:
            metadata = sign(claims, settings.ENLACE_CHATBOT_METADATA_KEY)
            # The bot's first session starts on the first message, in the language of its
            # metadata; a later switch of language needs a new session.
            if conversation.bot_language and conversation.bot_language != conversation.language:
                await _session_restart(conversation.pk, metadata)
            reply = await rasa_client().message_send(
                sender_id=sender_id(conversation.pk), text=text, metadata=metadata
            )
            if not reply.texts and not reply.handoff:
                # Rasa answers nothing when an action failed (it logs the error and goes on).
                raise BotUnavailable("the bot answered nothing")
        except BotUnavailable:
            logger.warning(
                "the bot failed on conversation %s; queued for a human", conversation_id, exc_info=True
            )
            await database_sync_to_async(services.conversation_queue)(
                conversation_id=conversation_id, reason=services.QUEUED_BOT_FAILED, now=timezone.now()
            )
            return
        await database_sync_to_async(services.bot_answers_store)(
            conversation_id=conversation_id,
            texts=reply.texts,
            bot_language=conversation.language,
            now=timezone.now(),
        )
        if reply.handoff:
            await database_sync_to_async(services.conversation_queue)(
                conversation_id=conversation_id, reason=services.QUEUED_BY_BOT, now=timezone.now()
            )
