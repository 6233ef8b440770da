"""Writes of the identity service: accounts, login and tokens, passwords, activation, audit.

Every change that other services must hear about writes its event to the outbox in the same
transaction (``identity.user.created``, ``identity.password.changed``); e-mails are sent on
commit, so a rolled-back change sends nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict, DomainError, TooManyRequests, Unauthorized
from backoffice.identity import emails, throttling, tokens
from backoffice.identity.models import ActivationCode, AuditEvent, OneTimeToken, Role, User
from backoffice.messaging import catalog
from backoffice.messaging.envelope import Envelope
from backoffice.messaging.outbox import outbox_put

DB = "default"  # identity's database alias
logger = logging.getLogger(__name__)

ACTIVATION_CODE_DAYS = 7
PASSWORD_RESET_MINUTES = 60
EMAIL_VERIFICATION_DAYS = 7
# No 0/O, 1/I/L: codes are read aloud and typed from paper.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class RequestMeta:
    """Where a request came from, for the audit log and throttling."""

    ip: str | None = None
    user_agent: str = ""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def audit_record(
    *,
    kind: str,
    meta: RequestMeta | None = None,
    user: User | None = None,
    email: str = "",
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Appends one row to the audit log."""
    meta = meta or RequestMeta()
    fields: dict[str, Any] = {
        "kind": kind,
        "user": user,
        "email": email or (user.email if user else ""),
        "ip_address": meta.ip,
        "user_agent": meta.user_agent[:300],
        "detail": detail or {},
    }
    if now is not None:
        fields["created_at"] = now
    return AuditEvent.objects.using(DB).create(**fields)


def _emit_user_created(user: User) -> None:
    envelope = Envelope.new(
        type="identity.user.created",
        data={
            "user_id": user.pk,
            "email": user.email,
            "roles": list(user.roles),
            "client_id": user.client_id,
            "language": user.language,
        },
        source="identity",
    )
    outbox_put(using=DB, topic=catalog.IDENTITY_EVENTS, key=str(user.pk), envelope=envelope)


def _emit_password_changed(user: User, via: str) -> None:
    envelope = Envelope.new(
        type="identity.password.changed",
        data={"user_id": user.pk, "email": user.email, "via": via},
        source="identity",
    )
    outbox_put(using=DB, topic=catalog.IDENTITY_EVENTS, key=str(user.pk), envelope=envelope)


def _check_password(password: str, user: User, field: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def _check_roles(roles: list[str]) -> list[str]:
    valid = set(Role.values)
    unknown = [role for role in roles if role not in valid]
    if unknown or not roles:
        raise ValidationError(
            {"roles": [_("Give at least one role among: %(roles)s.") % {"roles": ", ".join(Role.values)}]}
        )
    return sorted(set(roles))


# --- Users ---------------------------------------------------------------------------------


def user_create(
    *,
    email: str,
    roles: list[str],
    password: str | None = None,
    full_name: str = "",
    client_id: int | None = None,
    language: str = "es",
    email_verified: bool = False,
    created_by: User | None = None,
    meta: RequestMeta | None = None,
) -> User:
    """Creates a user and announces it (``identity.user.created``); raises Conflict or ValidationError.

    A subscriber needs a ``client_id``; without ``password`` the account cannot log in until a
    password reset.
    """
    roles = _check_roles(roles)
    if Role.SUBSCRIBER.value in roles and client_id is None:
        raise ValidationError({"client_id": [_("A subscriber needs the id of their client.")]})
    user = User(
        email=_normalize_email(email),
        roles=roles,
        full_name=full_name,
        client_id=client_id,
        language=language,
        email_verified=email_verified,
        is_staff=Role.ADMIN.value in roles,
    )
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, user, "password")
        user.set_password(password)
    with transaction.atomic(using=DB):
        if User.objects.using(DB).filter(email=user.email).exists():
            raise Conflict(_("A user with this e-mail already exists."), code="email_taken")
        try:
            user.save(using=DB)
        except IntegrityError:
            raise Conflict(_("A user with this e-mail already exists."), code="email_taken") from None
        _emit_user_created(user)
        audit_record(
            kind=AuditEvent.Kind.USER_CREATED,
            meta=meta,
            user=user,
            detail={"by": created_by.pk if created_by else None, "roles": roles},
        )
    return user


def user_profile_update(*, user: User, full_name: str | None = None, language: str | None = None) -> User:
    """Changes the user's own name or language."""
    changed = []
    if full_name is not None:
        user.full_name = full_name
        changed.append("full_name")
    if language is not None:
        user.language = language
        changed.append("language")
    if changed:
        user.save(using=DB, update_fields=changed)
    return user


# --- Login and tokens --------------------------------------------------------------------------


def _credentials_check(*, email: str, password: str, meta: RequestMeta, now: datetime) -> User:
    """The active user with these credentials, under the login lockout; audits failures.

    Raises TooManyRequests(``locked_out``) while the account or IP is locked (even with the
    right password) and Unauthorized(``invalid_credentials``) otherwise.
    """
    email = _normalize_email(email)
    lock = throttling.active_lock(scope="login", email=email, ip=meta.ip, now=now)
    if lock is not None:
        raise TooManyRequests(
            _("Too many failed attempts. Try again later."), retry_after=lock.retry_after, code="locked_out"
        )
    user = User.objects.using(DB).filter(email=email).first()
    if user is None:
        make_password(password)  # spend the same time as a real check: no account enumeration
        valid = False
    else:
        valid = user.check_password(password) and user.is_active
    if not valid:
        audit_record(kind=AuditEvent.Kind.LOGIN_FAILED, meta=meta, user=user, email=email, now=now)
        triggered = throttling.record_failure(scope="login", email=email, ip=meta.ip, now=now)
        if triggered is not None:
            audit_record(
                kind=AuditEvent.Kind.LOCKOUT,
                meta=meta,
                user=user,
                email=email,
                detail={"scope": triggered.scope, "seconds": throttling.WINDOW_SECONDS},
                now=now,
            )
        raise Unauthorized(_("The e-mail or the password is not correct."), code="invalid_credentials")
    assert user is not None
    throttling.record_success(scope="login", email=email)
    user.last_login = now
    user.save(using=DB, update_fields=["last_login"])
    return user


def token_obtain(*, email: str, password: str, meta: RequestMeta, now: datetime) -> tokens.TokenPair:
    """A new token pair for valid credentials.

    Raises TooManyRequests while the account or IP is locked (even with the right password)
    and Unauthorized(``invalid_credentials``) otherwise.
    """
    user = _credentials_check(email=email, password=password, meta=meta, now=now)
    pair = tokens.login_pair(user=user, now=now)
    audit_record(
        kind=AuditEvent.Kind.LOGIN_SUCCEEDED, meta=meta, user=user, detail={"sid": pair.sid}, now=now
    )
    return pair


def web_sign_in(*, email: str, password: str, meta: RequestMeta, now: datetime) -> User:
    """The user to sign in on identity's web pages (the OAuth2 consent flow).

    The same lockout and audit log as :func:`token_obtain`: failures here and at ``POST /token``
    count together. Raises TooManyRequests(``locked_out``) or Unauthorized(``invalid_credentials``).
    """
    user = _credentials_check(email=email, password=password, meta=meta, now=now)
    audit_record(kind=AuditEvent.Kind.LOGIN_SUCCEEDED, meta=meta, user=user, detail={"via": "web"}, now=now)
    return user


def admin_sign_in(*, email: str, password: str, meta: RequestMeta, now: datetime) -> User:
    """The staff user to sign in on the Django admin (``/admin/login/``).

    The same lockout and audit log as :func:`token_obtain` and :func:`web_sign_in`. Raises
    TooManyRequests(``locked_out``), Unauthorized(``invalid_credentials``), and
    Unauthorized(``not_staff``) for a valid account without access to the admin (audited as a
    failed login, not counted toward the lockout: the password was right).
    """
    user = _credentials_check(email=email, password=password, meta=meta, now=now)
    if not user.is_staff:
        audit_record(
            kind=AuditEvent.Kind.LOGIN_FAILED,
            meta=meta,
            user=user,
            detail={"via": "admin", "reason": "not_staff"},
            now=now,
        )
        raise Unauthorized(_("This account cannot use the administration site."), code="not_staff")
    audit_record(kind=AuditEvent.Kind.LOGIN_SUCCEEDED, meta=meta, user=user, detail={"via": "admin"}, now=now)
    return user


def sign_in_unlock(
    *, email: str | None = None, ip: str | None = None, by: str, meta: RequestMeta | None = None
) -> bool:
    """Lifts the sign-in lockout of an account (``email``) and/or an address (``ip``) before
    its window ends, and audits who did it (``by``). Returns whether a lock was in force."""
    email = _normalize_email(email) if email else None
    lifted = throttling.locks_clear(scope="login", email=email, ip=ip)
    audit_record(
        kind=AuditEvent.Kind.UNLOCKED,
        meta=meta,
        user=User.objects.using(DB).filter(email=email).first() if email else None,
        email=email or "",
        detail={"by": by, "ip": ip, "was_locked": lifted},
    )
    return lifted


def _active_user(user_id: int) -> User | None:
    return User.objects.using(DB).filter(pk=user_id, is_active=True).first()


def token_refresh(*, refresh_token: str, meta: RequestMeta, now: datetime) -> tokens.TokenPair:
    """A new pair for a live refresh token, which is used up.

    Raises Unauthorized(``token_reused``) when the token was already rotated (its family is
    then revoked) and Unauthorized(``invalid_token``) when it is unknown, expired or revoked.
    """
    outcome = tokens.rotate(refresh_token=refresh_token, user_loader=_active_user, now=now)
    if outcome.problem == "token_reused":
        audit_record(
            kind=AuditEvent.Kind.TOKEN_REUSED,
            meta=meta,
            user=_active_user(outcome.user_id) if outcome.user_id else None,
            now=now,
        )
        raise Unauthorized(
            _("This refresh token was already used; the session has been closed for safety."),
            code="token_reused",
        )
    if outcome.pair is None:
        raise Unauthorized(_("The refresh token is not valid or has expired."), code="invalid_token")
    return outcome.pair


def token_logout(*, refresh_token: str, access_token: str | None, meta: RequestMeta, now: datetime) -> None:
    """Revokes the refresh token's family and, when given, the presented access token.

    Raises Unauthorized(``invalid_token``) when the refresh token is unknown or already revoked.
    """
    record = tokens.refresh_lookup(refresh_token)
    if record is None:
        raise Unauthorized(_("The refresh token is not valid or has expired."), code="invalid_token")
    tokens.revoke_family(sid=record["sid"], now=now)
    if access_token:
        claims = tokens.decode_own_access_token(access_token)
        if claims is not None and claims.get("sub") == str(record["user_id"]):
            tokens.revoke_jti(jti=claims["jti"], exp=int(claims["exp"]), now=now)
    audit_record(
        kind=AuditEvent.Kind.TOKEN_REVOKED,
        meta=meta,
        user=User.objects.using(DB).filter(pk=record["user_id"]).first(),
        detail={"reason": "logout", "sid": record["sid"]},
        now=now,
    )


# --- Passwords -----------------------------------------------------------------------------------


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


# --- Activation and e-mail verification -------------------------------------------------------------


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
