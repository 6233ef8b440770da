"""A mail backend standing in for an SMTP server that answers only when the test lets it.

``waiting`` is set when someone tries to send; the send completes (and is recorded in ``sent``
with the sending thread's id) once the test sets ``release``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

waiting = threading.Event()
release = threading.Event()
sent: list[tuple[EmailMessage, int]] = []


def reset() -> None:
    waiting.clear()
    release.clear()
    sent.clear()


class HeldEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        waiting.set()
        if not release.wait(timeout=30):
            raise TimeoutError("the test never released the held mail")
        sent.extend((message, threading.get_ident()) for message in email_messages)
        return len(email_messages)
