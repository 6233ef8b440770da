"""A conversation's transcript, e-mailed on an agent's request in the subscriber's language."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from portal.chat import selectors


def transcript_email(*, conversation_id: int, to: str) -> None:
    """Sends the whole conversation as plain text to ``to``."""
    conversation = selectors.conversation_get(conversation_id=conversation_id)
    messages = selectors.messages_after(conversation_id=conversation_id, after_seq=0, limit=100_000)
    with translation.override(conversation.language):
        body = render_to_string(
            "chat/transcript.txt",
            {"conversation": conversation, "messages": messages, "viewer": "transcript"},
        )
        subject = _("Your conversation with Enlace support")
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
