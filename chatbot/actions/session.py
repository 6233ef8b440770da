"""The session start: the ``language`` slot comes from the portal's signed metadata.

The portal never writes the tracker itself: it sends the subscriber's messages with signed
metadata, and Rasa runs this action before the first one of each session (with that message's
metadata in ``session_started_metadata``). When the subscriber switches language the portal
sends ``/session_start`` with metadata in the new language; the action then reads that
message's own metadata.
"""

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
            claims = metadata.verify(_session_metadata(tracker), metadata_key())
            conversation = claims.get("conversation_id")
            if conversation is not None and str(conversation) != tracker.sender_id:
                raise metadata.MetadataError("the metadata was signed for another conversation")
        except metadata.MetadataError as exc:
            # No language to set; every account action checks each message's own metadata anyway.
            logger.info("session %s started without valid metadata: %s", tracker.sender_id, exc)
        else:
            if claims.get("language") in LANGUAGES:
                events.append(SlotSet("language", claims["language"]))
        events.append(ActionExecuted("action_listen"))
        return events


def _session_metadata(tracker: Tracker) -> Any:
    """The metadata that starts this session: the ``/session_start`` message's own when that
    message is what runs the action (the portal restarting the session in another language),
    else the one Rasa stored from the message that opens the session."""
    # The latest user message or action (Rasa logs e.g. ``user_featurization`` after a message).
    last: dict[str, Any] = next(
        (e for e in reversed(tracker.events) if e.get("event") in ("user", "action")), {}
    )
    if last.get("event") == "user" and (last.get("parse_data") or {}).get("intent", {}).get("name") == (
        "session_start"
    ):
        return last.get("metadata")
    return tracker.get_slot("session_started_metadata")
