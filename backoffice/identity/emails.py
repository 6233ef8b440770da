"""E-mails identity sends, each in the recipient's language (Spanish first, English second)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from backoffice.identity.models import User

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
