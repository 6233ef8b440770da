"""Canned responses the agent console offers, worded in the conversation's language."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _


def canned_responses(language: str) -> list[str]:
    with translation.override(language):
        return [
            _("Hello, I'm here to help you. Give me a moment to review your account."),
            _("Thank you for waiting. I'm checking your service right now."),
            _("Your payment is recorded; your service reconnects within a few minutes."),
            _(
                "Please restart your router (unplug it for 30 seconds) and tell me if the connection "
                "comes back."
            ),
            _("I have opened a ticket; our technical team will contact you."),
            _("Is there anything else I can help you with?"),
        ]
