"""The session start: the ``language`` slot comes from the portal's signed metadata."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from chatbot import metadata
from chatbot.actions.base import metadata_key
from chatbot.actions.messages import LANGUAGES

logger = logging.getLogger(__name__)


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        # Slots carried over from the previous session (domain: carry_over_slots_to_new_session).
        events += [
            SlotSet(name, value)
            for name, value in tracker.current_slot_values().items()
            if name not in ("session_started_metadata",) and value is not None
        ]
        try:
            claims = metadata.verify(tracker.get_slot("session_started_metadata"), metadata_key())
        except metadata.MetadataError as exc:
            # No language to set; every account action checks each message's own metadata anyway.
            logger.info("session %s started without valid metadata: %s", tracker.sender_id, exc)
        else:
            if claims.get("language") in LANGUAGES:
                events.append(SlotSet("language", claims["language"]))
        events.append(ActionExecuted("action_listen"))
        return events
