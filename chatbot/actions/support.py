"""Tickets (the support service) and the hand-over to a human agent."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from chatbot import metadata
from chatbot.actions.base import Reply, Subscriber, SubscriberAction, verified_subscriber
from chatbot.actions.messages import DEFAULT_LANGUAGE, LANGUAGES, say
from chatbot.backoffice_client import BackofficeClient

logger = logging.getLogger(__name__)

# What the portal's bridge looks for in a bot reply to queue the conversation for an agent.
HANDOFF_MESSAGE = {"enlace": {"handoff": True}}


class ActionOpenTicket(SubscriberAction):
    def name(self) -> str:
        return "action_open_ticket"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        text = " ".join(subscriber.text.split()) or "—"
        ticket = client.ticket_open(
            client_id=subscriber.client_id,
            subject=say("ticket_subject", subscriber.language, text=text[:150]),
            body=subscriber.text,
            conversation_id=subscriber.conversation_id,
        )
        return Reply([say("ticket_opened", subscriber.language, id=ticket.id)])


class ActionTicketStatus(SubscriberAction):
    def name(self) -> str:
        return "action_ticket_status"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        language = subscriber.language
        tickets = client.tickets_of(subscriber.client_id)
        if not tickets:
            return Reply([say("no_tickets", language)])
        lines = [say("tickets_header", language)]
        lines += [
            say(
                "ticket_line",
                language,
                id=t.id,
                subject=t.subject,
                status=say(f"ticket_{t.status}", language),
            )
            for t in tickets
        ]
        return Reply(["\n".join(lines)])


class ActionHandoff(Action):
    """Queues the conversation for a human and pauses the bot until an agent hands it back.

    It reads no account, so it works without signed metadata too (in the slot's language).
    """

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            language = verified_subscriber(tracker).language
        except metadata.MetadataError:
            slot = tracker.get_slot("language")
            language = slot if slot in LANGUAGES else DEFAULT_LANGUAGE
        dispatcher.utter_message(text=say("handoff", language))
        dispatcher.utter_message(json_message=HANDOFF_MESSAGE)
        return [ConversationPaused()]
