"""E-mails identity sends, each in the recipient's language (Spanish first, English second).

The password-reset e-mail goes out from a background thread (:func:`password_reset_send_later`),
never inside the request: connecting to SMTP takes time only known addresses would spend, and
that difference would tell an attacker which e-mails have an account.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from backoffice.identity.models import User

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}


def _language_of(user: User) -> str:
    return user.language if user.language in SUPPORTED_LANGUAGES else settings.LANGUAGE_CODE


def _send(*, user: User, subject: str, template: str, context: dict[str, object]) -> None:
    send_mail(
        subject=subject,
        message=render_to_string(template, {"user": user, **context}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


def email_verification_send(*, user: User, token: str) -> None:
    """Sends the single-use link that confirms ``user`` owns their e-mail address."""
    link = f"{settings.ENLACE_PORTAL_URL.rstrip('/')}/verify-email/{token}/"
    with translation.override(_language_of(user)):
        _send(
            user=user,
            subject=_("Confirm your e-mail address for Enlace"),
            template="identity/email/verify_email.txt",
            context={"link": link},
        )


def password_reset_send(*, user: User, token: str, valid_minutes: int) -> None:
    """Sends the single-use link that lets ``user`` choose a new password."""
    link = f"{settings.ENLACE_PORTAL_URL.rstrip('/')}/password/reset/{token}/"
    with translation.override(_language_of(user)):
        _send(
            user=user,
            subject=_("Reset your Enlace password"),
            template="identity/email/password_reset.txt",
            context={"link": link, "valid_minutes": valid_minutes},
        )


_ACTIVATION_SUBJECTS = {
    "es": "Su código de activación del portal Enlace",
    "en": "Your Enlace portal activation code",
}


def activation_code_send(*, email: str, code: str, full_name: str, language: str, valid_days: int) -> None:
    """Sends a new subscriber the single-use code that opens their portal account.

    There is no user yet, so the language is the client's (Spanish when unknown); the text
    is one template per language, like the contract.
    """
    language = language if language in _ACTIVATION_SUBJECTS else "es"
    send_mail(
        subject=_ACTIVATION_SUBJECTS[language],
        message=render_to_string(
            f"identity/email/activation_code_{language}.txt",
            {
                "name": full_name or email,
                "email": email,
                "code": code,
                "valid_days": valid_days,
                "link": f"{settings.ENLACE_PORTAL_URL.rstrip('/')}/activate/",
            },
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


def password_reset_send_later(*, user: User, token: str, valid_minutes: int) -> None:
    """Queues :func:`password_reset_send` for the background sender and returns at once.

    Call it on commit (the token must exist before the link can work). A failure to send is
    logged there; the user can ask for another link.
    """
    _sender.put(lambda: password_reset_send(user=user, token=token, valid_minutes=valid_minutes))


def outgoing_wait(timeout: float = 10.0) -> bool:
    """Waits until every queued e-mail was handed to the mail backend; False on timeout.

    For orderly shutdown and for tests that read the sent mail.
    """
    return _sender.wait_idle(timeout)


class _BackgroundSender:
    """One daemon thread sending queued e-mails in order, started on first use."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0

    def put(self, send: Callable[[], None]) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(send)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="identity-mail", daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _run(self) -> None:
        while True:
            send = self._queue.get()
            try:
                send()
            except Exception:
                # Nobody waits for this e-mail: log it once; the user can ask for another link.
                logger.exception("sending an identity e-mail failed")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()


_sender = _BackgroundSender()
