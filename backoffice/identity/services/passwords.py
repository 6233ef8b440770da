"""Writes of identity's passwords: changing one, and resetting a forgotten one by e-mail."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import DomainError, TooManyRequests
from backoffice.identity import emails, throttling, tokens
from backoffice.identity.models import AuditEvent, OneTimeToken, User
from backoffice.identity.services.accounts import (
    DB,
    RequestMeta,
    _check_password,
    _digest,
    _emit_password_changed,
    _normalize_email,
    audit_record,
)

PASSWORD_RESET_MINUTES = 60


def password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    keep_sid: str | None,
    meta: RequestMeta,
    now: datetime,
) -> None:
    """Sets a new password after checking the current one; ends every other session.

    Raises ValidationError naming ``current_password`` when it is wrong (the caller is signed
    in, so this is a form error, not a failed authentication) and naming ``new_password`` when
    the new one breaks the password rules.
    """
    if not user.check_password(current_password):
        audit_record(
            kind=AuditEvent.Kind.LOGIN_FAILED, meta=meta, user=user, detail={"via": "change"}, now=now
        )
        raise ValidationError({"current_password": [_("The current password is not correct.")]})
    _check_password(new_password, user, "new_password")
    user.set_password(new_password)
    with transaction.atomic(using=DB):
        user.save(using=DB, update_fields=["password"])
        _emit_password_changed(user, "change")
        audit_record(kind=AuditEvent.Kind.PASSWORD_CHANGED, meta=meta, user=user, now=now)
    revoked = tokens.revoke_user_families(user_id=user.pk, now=now, keep_sid=keep_sid)
    audit_record(
        kind=AuditEvent.Kind.TOKEN_REVOKED,
        meta=meta,
        user=user,
        detail={"reason": "password_change", "families": revoked},
        now=now,
    )


def _one_time_token_create(*, user: User, purpose: str, lifetime: timedelta, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    OneTimeToken.objects.using(DB).create(
        user=user, purpose=purpose, token_hash=_digest(token), expires_at=now + lifetime, created_at=now
    )
    return token


def _one_time_token_use(*, token: str, purpose: str, now: datetime) -> OneTimeToken:
    """Marks a live token used (row locked: two concurrent uses cannot both succeed)."""
    row = (
        OneTimeToken.objects.using(DB)
        .select_for_update()
        .select_related("user")
        .filter(token_hash=_digest(token), purpose=purpose)
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= now or not row.user.is_active:
        raise DomainError(_("This link is not valid or has expired."), code="invalid_token")
    row.used_at = now
    row.save(using=DB, update_fields=["used_at"])
    return row


def password_reset_request(*, email: str, meta: RequestMeta, now: datetime) -> None:
    """E-mails a reset link (from the background sender, after commit) when an active account
    has this address; silent otherwise.

    Raises TooManyRequests after too many requests for one e-mail or from one IP (the same
    way whether or not the account exists). Requests count in their own ``reset`` scope: they
    are not failed sign-ins and never lock anyone out of signing in.
    """
    email = _normalize_email(email)
    lock = throttling.active_lock(scope="reset", email=email, ip=meta.ip, now=now)
    if lock is not None:
        raise TooManyRequests(_("Too many requests. Try again later."), retry_after=lock.retry_after)
    throttling.record_failure(scope="reset", email=email, ip=meta.ip, now=now)
    user = User.objects.using(DB).filter(email=email, is_active=True).first()
    audit_record(kind=AuditEvent.Kind.PASSWORD_RESET_REQUESTED, meta=meta, user=user, email=email, now=now)
    if user is None:
        _digest(secrets.token_urlsafe(32))  # the same work as below, give or take
        return
    with transaction.atomic(using=DB):
        token = _one_time_token_create(
            user=user,
            purpose=OneTimeToken.Purpose.PASSWORD_RESET,
            lifetime=timedelta(minutes=PASSWORD_RESET_MINUTES),
            now=now,
        )
        # Queued for the background sender after commit: the request does the same work (and
        # takes the same time) whether or not the address has an account, even with slow SMTP.
        transaction.on_commit(
            lambda: emails.password_reset_send_later(
                user=user, token=token, valid_minutes=PASSWORD_RESET_MINUTES
            ),
            using=DB,
        )


def password_reset_confirm(*, token: str, new_password: str, meta: RequestMeta, now: datetime) -> User:
    """Sets a new password with a reset token (used up) and ends every session of the user.

    Raises DomainError(``invalid_token``) for an unknown, used or expired token and
    ValidationError when the password breaks the rules (the token then stays usable).
    """
    with transaction.atomic(using=DB):
        row = _one_time_token_use(token=token, purpose=OneTimeToken.Purpose.PASSWORD_RESET, now=now)
        user = row.user
        _check_password(new_password, user, "new_password")
        user.set_password(new_password)
        user.save(using=DB, update_fields=["password"])
        # Other reset links of this user die with this one.
        OneTimeToken.objects.using(DB).filter(
            user=user, purpose=OneTimeToken.Purpose.PASSWORD_RESET, used_at__isnull=True
        ).update(used_at=now)
        _emit_password_changed(user, "reset")
        audit_record(kind=AuditEvent.Kind.PASSWORD_RESET, meta=meta, user=user, now=now)
    revoked = tokens.revoke_user_families(user_id=user.pk, now=now)
    throttling.record_success(scope="login", email=user.email)
    audit_record(
        kind=AuditEvent.Kind.TOKEN_REVOKED,
        meta=meta,
        user=user,
        detail={"reason": "password_reset", "families": revoked},
        now=now,
    )
    return user
