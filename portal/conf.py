"""The portal's settings, typed.

mypy checks both Django projects against the back-office's settings module, which lacks the
portal's own names; reading them through this protocol keeps them checked all the same.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, cast

from django.conf import settings as _django_settings


class PortalSettings(Protocol):
    LANGUAGE_CODE: str
    LANGUAGE_COOKIE_NAME: str
    LANGUAGE_COOKIE_AGE: int
    LANGUAGE_COOKIE_SAMESITE: Literal["Lax", "Strict", "None"]
    SESSION_ENGINE: str
    CHANNEL_LAYERS: dict[str, dict[str, Any]]
    KAFKA_BOOTSTRAP_SERVERS: str
    ENLACE_IDENTITY_URL: str
    ENLACE_IDENTITY_TIMEOUT_SECONDS: int
    ENLACE_NETWORK_URL: str
    ENLACE_NETWORK_TIMEOUT_SECONDS: int
    ENLACE_SUPPORT_URL: str
    ENLACE_SUPPORT_TIMEOUT_SECONDS: int
    ENLACE_CLIENTS_URL: str
    ENLACE_CLIENTS_TIMEOUT_SECONDS: int
    ENLACE_PORTAL_CSP: str
    ENLACE_PORTAL_CONSUMER_GROUP: str
    ENLACE_PORTAL_EMBEDDED_CONSUMER: bool
    ENLACE_PORTAL_NOTIFICATION_MODULES: list[str]
    ENLACE_PORTAL_SERVE_STATIC: bool
    ENLACE_PORTAL_SOCKET_SESSION_CHECK_SECONDS: int
    ENLACE_PORTAL_TOKEN_REFRESH_MARGIN_SECONDS: int
    ENLACE_PORTAL_TRUSTED_PROXIES: int
    ENLACE_RASA_URL: str
    ENLACE_RASA_TIMEOUT_SECONDS: float
    ENLACE_CHATBOT_METADATA_KEY: str
    ENLACE_BILLING_URL: str
    ENLACE_BILLING_TIMEOUT_SECONDS: int
    ENLACE_PORTAL_URL: str
    ENLACE_CONTEXT_TIMEOUT_SECONDS: int
    DEFAULT_FROM_EMAIL: str


settings = cast(PortalSettings, _django_settings)
