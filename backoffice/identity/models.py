"""Tables of the identity service: users and their roles."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    AGENT = "agent", _("Support agent")
    BILLING = "billing", _("Billing staff")
    NOC = "noc", _("Network operator")
    ADMIN = "admin", _("Administrator")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("roles", [Role.ADMIN.value])
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    roles = models.JSONField(_("roles"), default=list, blank=True)
    # The subscriber's client record in the clients service (an id, never a foreign key).
    client_id = models.BigIntegerField(_("client id"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, default="es")
    email_verified = models.BooleanField(_("e-mail verified"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def has_role(self, role: str) -> bool:
        return role in self.roles


class ActivationCode(models.Model):
    """A single-use code staff hand to a subscriber so they can set their own password.

    Only the SHA-256 of the code is stored; the code itself is shown once, when issued.
    """

    email = models.EmailField(_("e-mail"))
    client_id = models.BigIntegerField(_("client id"))
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=8, default="es")
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        indexes = [models.Index(fields=["email"], name="activation_email_idx")]

    def __str__(self) -> str:
        return f"{self.email} (client {self.client_id})"


class OneTimeToken(models.Model):
    """A single-use, expiring link token (e-mail verification, password reset); stored hashed."""

    class Purpose(models.TextChoices):
        EMAIL_VERIFICATION = "email_verification", _("E-mail verification")
        PASSWORD_RESET = "password_reset", _("Password reset")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_tokens")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("one-time token")
        verbose_name_plural = _("one-time tokens")

    def __str__(self) -> str:
        return f"{self.purpose} for user {self.user_id}"


class AuditEvent(models.Model):
    """One security-relevant event (login, lockout, password, tokens, activation); never edited."""

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded", _("Login succeeded")
        LOGIN_FAILED = "login_failed", _("Login failed")
        LOCKOUT = "lockout", _("Lockout")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET_REQUESTED = "password_reset_requested", _("Password reset requested")
        PASSWORD_RESET = "password_reset", _("Password reset")
        TOKEN_REVOKED = "token_revoked", _("Tokens revoked")
        TOKEN_REUSED = "token_reused", _("Refresh token reused")
        ACTIVATION_CODE_ISSUED = "activation_code_issued", _("Activation code issued")
        ACTIVATED = "activated", _("Account activated")
        ACTIVATION_FAILED = "activation_failed", _("Activation failed")
        EMAIL_VERIFIED = "email_verified", _("E-mail verified")
        USER_CREATED = "user_created", _("User created")
        UNLOCKED = "unlocked", _("Sign-in lockout lifted")

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("user")
    )
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["email", "created_at"], name="audit_email_time_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind} {self.email}"


class OAuthClientScopes(models.Model):
    """The scopes an OAuth2 application may ask for (django-oauth-toolkit has no such field)."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="enlace_scopes"
    )
    scopes = models.JSONField(_("allowed scopes"), default=list, blank=True)

    class Meta:
        verbose_name = _("OAuth2 client scopes")
        verbose_name_plural = _("OAuth2 client scopes")

    def __str__(self) -> str:
        return " ".join(self.scopes)
