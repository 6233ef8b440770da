"""Activating an account with the code staff issue, and verifying an e-mail address."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict, DomainError, TooManyRequests
from backoffice.identity import emails, throttling
from backoffice.identity.models import ActivationCode, AuditEvent, OneTimeToken, Role, User
from backoffice.identity.services.accounts import (
    DB,
    RequestMeta,
    _check_password,
    _digest,
    _emit_user_created,
    _normalize_email,
    audit_record,
)
from backoffice.identity.services.passwords import _one_time_token_create, _one_time_token_use

logger = logging.getLogger(__name__)

ACTIVATION_CODE_DAYS = 7
EMAIL_VERIFICATION_DAYS = 7
# No 0/O, 1/I/L: codes are read aloud and typed from paper.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _new_activation_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _canonical_code(code: str) -> str:
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def activation_code_issue(
    *,
    email: str,
    client_id: int,
    full_name: str = "",
    language: str = "es",
    issued_by: User | None,
    meta: RequestMeta,
    now: datetime,
) -> tuple[str, ActivationCode]:
    """A new single-use code (valid 7 days) for the subscriber of ``client_id``; returns it once.

    Raises Conflict when an account with this e-mail exists already.
    """
    email = _normalize_email(email)
    if User.objects.using(DB).filter(email=email).exists():
        raise Conflict(_("An account with this e-mail already exists."), code="email_taken")
    code = _new_activation_code()
    with transaction.atomic(using=DB):
        row = ActivationCode.objects.using(DB).create(
            email=email,
            client_id=client_id,
            full_name=full_name,
            language=language,
            code_hash=_digest(code),
            expires_at=now + timedelta(days=ACTIVATION_CODE_DAYS),
            created_by=issued_by,
            created_at=now,
        )
        audit_record(
            kind=AuditEvent.Kind.ACTIVATION_CODE_ISSUED,
            meta=meta,
            user=issued_by,
            email=email,
            detail={"client_id": client_id},
            now=now,
        )
    return code, row


def subscriber_account_for_client(
    *, client_id: int, email: str | None, full_name: str, language: str, now: datetime
) -> str:
    """Gives the client registered by the clients service its portal account: links an existing
    subscriber account with this e-mail, or issues an activation code and e-mails it (on
    commit). Returns what it did: "linked", "code_sent", or why nothing was done ("no_email",
    "already_linked", "pending_code", "email_taken")."""
    if not email:
        return "no_email"
    email = _normalize_email(email)
    with transaction.atomic(using=DB):
        user = User.objects.using(DB).select_for_update().filter(email=email).first()
        if user is not None:
            if user.client_id == client_id:
                return "already_linked"
            if user.client_id is None and user.roles == [Role.SUBSCRIBER.value]:
                user.client_id = client_id
                user.save(using=DB, update_fields=["client_id"])
                audit_record(
                    kind=AuditEvent.Kind.ACTIVATED,
                    meta=RequestMeta(),
                    user=user,
                    detail={"client_id": client_id, "linked": True},
                    now=now,
                )
                return "linked"
            # Staff, or a subscriber of another client: never hand them this client's data.
            logger.warning(
                "client %s: e-mail %s belongs to another account; no account linked", client_id, email
            )
            return "email_taken"
        pending = ActivationCode.objects.using(DB).filter(
            email=email, client_id=client_id, used_at=None, expires_at__gt=now
        )
        if pending.exists():
            return "pending_code"
        code, _row = activation_code_issue(
            email=email,
            client_id=client_id,
            full_name=full_name,
            language=language,
            issued_by=None,
            meta=RequestMeta(),
            now=now,
        )
        transaction.on_commit(
            lambda: emails.activation_code_send(
                email=email,
                code=code,
                full_name=full_name,
                language=language,
                valid_days=ACTIVATION_CODE_DAYS,
            ),
            using=DB,
        )
    return "code_sent"


def account_activate(*, email: str, code: str, password: str, meta: RequestMeta, now: datetime) -> User:
    """Creates the subscriber account an activation code was issued for; the code is used up.

    Sends the e-mail verification link on commit. Raises DomainError(``invalid_code``) for a
    wrong, used or expired code, TooManyRequests after repeated failures, Conflict when the
    account exists, ValidationError when the password breaks the rules.
    """
    email = _normalize_email(email)
    lock = throttling.active_lock(scope="activation", email=email, ip=meta.ip, now=now)
    if lock is not None:
        raise TooManyRequests(_("Too many failed attempts. Try again later."), retry_after=lock.retry_after)
    with transaction.atomic(using=DB):
        row = (
            ActivationCode.objects.using(DB)
            .select_for_update()
            .filter(code_hash=_digest(_canonical_code(code)), email=email)
            .first()
        )
        if row is None or row.used_at is not None or row.expires_at <= now:
            failed = True
        else:
            failed = False
            user = User(
                email=email,
                full_name=row.full_name,
                roles=[Role.SUBSCRIBER.value],
                client_id=row.client_id,
                language=row.language,
            )
            _check_password(password, user, "password")
            if User.objects.using(DB).filter(email=email).exists():
                raise Conflict(_("An account with this e-mail already exists."), code="email_taken")
            user.set_password(password)
            user.save(using=DB)
            row.used_at = now
            row.save(using=DB, update_fields=["used_at"])
            _emit_user_created(user)
            audit_record(
                kind=AuditEvent.Kind.ACTIVATED,
                meta=meta,
                user=user,
                detail={"client_id": row.client_id},
                now=now,
            )
            token = _one_time_token_create(
                user=user,
                purpose=OneTimeToken.Purpose.EMAIL_VERIFICATION,
                lifetime=timedelta(days=EMAIL_VERIFICATION_DAYS),
                now=now,
            )
            transaction.on_commit(lambda: emails.email_verification_send(user=user, token=token), using=DB)
    if failed:
        audit_record(kind=AuditEvent.Kind.ACTIVATION_FAILED, meta=meta, email=email, now=now)
        throttling.record_failure(scope="activation", email=email, ip=meta.ip, now=now)
        raise DomainError(_("The activation code is not valid for this e-mail."), code="invalid_code")
    return user


def email_verify(*, token: str, meta: RequestMeta, now: datetime) -> User:
    """Marks the user's e-mail verified; raises DomainError(``invalid_token``) for a bad link."""
    with transaction.atomic(using=DB):
        row = _one_time_token_use(token=token, purpose=OneTimeToken.Purpose.EMAIL_VERIFICATION, now=now)
        user = row.user
        user.email_verified = True
        user.save(using=DB, update_fields=["email_verified"])
        audit_record(kind=AuditEvent.Kind.EMAIL_VERIFIED, meta=meta, user=user, now=now)
    return user
