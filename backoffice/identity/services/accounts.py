"""Writes of the identity service: accounts, login and tokens, audit; and what the other
identity service modules share (the request's metadata, the events, the password rules).

Every change that other services must hear about writes its event to the outbox in the same
transaction (``identity.user.created``, ``identity.password.changed``); e-mails are sent on
commit, so a rolled-back change sends nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict, TooManyRequests, Unauthorized
from backoffice.identity import throttling, tokens
from backoffice.identity.models import AuditEvent, Role, User
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.envelope import Envelope

DB = "default"  # identity's database alias


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
