"""Settings of the portal (subscriber web UI, live notifications, later chat).

The portal owns no accounts: identity does. It keeps the tokens identity issues in the
server-side session and nothing else about passwords. Embedded defaults need nothing
installed (SQLite under ``var/``, database sessions, an in-memory channel layer with the Kafka
consumer running inside the ASGI process); ``ENLACE_REDIS_URL`` moves sessions and the channel
layer to Redis, so several portal processes and ``python -m portal consume_events`` can share them.
"""

from __future__ import annotations

from enlace_settings.base import *  # noqa: F403
from enlace_settings.base import BASE_DIR, DB_ENGINE, ENLACE_IDENTITY_URL, PRODUCTION, VAR_DIR
from enlace_settings.env import (
    SettingsError,
    env_bool,
    env_int,
    env_list,
    env_optional,
    env_str,
    sqlite_options,
)

if PRODUCTION:
    SECRET_KEY = env_str("ENLACE_PORTAL_SECRET_KEY", required=True)
else:
    SECRET_KEY = env_str("ENLACE_PORTAL_SECRET_KEY", "enlace-portal-development-only-not-a-secret")

# Not "*" even in development: the WebSocket origin check (AllowedHostsOriginValidator) is only
# as strict as this list.
ALLOWED_HOSTS = env_list(
    "ENLACE_PORTAL_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise SettingsError("ENLACE_PORTAL_ALLOWED_HOSTS must list the portal's host names in production")
CSRF_TRUSTED_ORIGINS = env_list("ENLACE_PORTAL_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    # The inbox table of the portal's Kafka consumer (messages applied exactly once).
    "enlace_messaging.django",
    "portal",
    "portal.chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.SessionExpiredMiddleware",
    # Last, so it sees a view's exception first: a locked SQLite database is a 503, not a 500.
    "backoffice.database_busy.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.signed_in_user",
            ],
        },
    },
]

# --- Database: the portal's own ---------------------------------------------------------------
_TEST_SUFFIX = env_str("ENLACE_TEST_DB_SUFFIX", "")
# How long a write waits for another process's write to finish before giving up (then 503).
SQLITE_TIMEOUT_SECONDS = env_int("ENLACE_SQLITE_TIMEOUT_SECONDS", 20)

if DB_ENGINE == "sqlite":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _DATABASE: dict[str, object] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("ENLACE_PORTAL_DB_NAME", str(VAR_DIR / "portal.sqlite3")),
        # Shared by the portal server and its events consumer: see sqlite_options.
        "OPTIONS": sqlite_options(timeout_seconds=SQLITE_TIMEOUT_SECONDS),
    }
elif DB_ENGINE == "postgres":
    _PREFIX = env_str("ENLACE_PG_DB_PREFIX", "enlace_")
    _DATABASE = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env_str("ENLACE_PORTAL_DB_NAME", f"{_PREFIX}portal"),
        "USER": env_str("ENLACE_PG_USER", "postgres"),
        "PASSWORD": env_optional("ENLACE_PG_PASSWORD") or "",
        "HOST": env_str("ENLACE_PG_HOST", "127.0.0.1"),
        "PORT": env_int("ENLACE_PG_PORT", 5432),
        "CONN_MAX_AGE": 60,
        "TEST": {"NAME": f"test_{_PREFIX}portal{_TEST_SUFFIX}"},
    }
else:
    raise SettingsError(f"ENLACE_DB_ENGINE={DB_ENGINE!r}: use sqlite or postgres")

DATABASES = {"default": _DATABASE}

# --- Redis: sessions and the channel layer ----------------------------------------------------
REDIS_URL = env_optional("ENLACE_REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("ENLACE_PORTAL_CACHE_PREFIX", "enlace-portal"),
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's default 5 s socket timeout equals channels-redis's 5 s BZPOPMIN, so an
                # idle receive could fail with "Timeout reading" instead of returning empty.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": env_str("ENLACE_PORTAL_CHANNELS_PREFIX", "enlace-portal"),
            },
        }
    }
elif PRODUCTION:
    raise SettingsError("ENLACE_REDIS_URL must be set in production")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# An in-memory channel layer lives inside one process, so the Kafka consumer must run there too.
ENLACE_PORTAL_EMBEDDED_CONSUMER = env_bool("ENLACE_PORTAL_EMBEDDED_CONSUMER", not REDIS_URL)
# Modules whose import registers notification handlers (see portal/notifications/registry.py).
ENLACE_PORTAL_NOTIFICATION_MODULES = env_list(
    "ENLACE_PORTAL_NOTIFICATION_MODULES",
    [
        "portal.notifications.identity",
        "portal.notifications.network",
        "portal.notifications.billing",
    ],
)
ENLACE_PORTAL_CONSUMER_GROUP = env_str("ENLACE_PORTAL_CONSUMER_GROUP", "portal-notifications")

SESSION_COOKIE_NAME = "enlace_portal_session"
SESSION_COOKIE_AGE = env_int("ENLACE_PORTAL_SESSION_SECONDS", 14 * 24 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Services the portal calls ---------------------------------------------------------------
ENLACE_IDENTITY_TIMEOUT_SECONDS = env_int("ENLACE_IDENTITY_TIMEOUT_SECONDS", 5)
# In development the network service runs in the same back-office process as identity.
ENLACE_NETWORK_URL = env_str("ENLACE_NETWORK_URL", ENLACE_IDENTITY_URL)
# Short: the dashboard waits for it, and shows the service card as unavailable past it.
ENLACE_NETWORK_TIMEOUT_SECONDS = env_int("ENLACE_NETWORK_TIMEOUT_SECONDS", 3)
# Tickets: the support service, also in the back-office process in development.
ENLACE_SUPPORT_URL = env_str("ENLACE_SUPPORT_URL", ENLACE_IDENTITY_URL)
ENLACE_SUPPORT_TIMEOUT_SECONDS = env_int("ENLACE_SUPPORT_TIMEOUT_SECONDS", 5)
# The clients service (plan, contracts); in development also in the back-office process.
ENLACE_CLIENTS_URL = env_str("ENLACE_CLIENTS_URL", ENLACE_IDENTITY_URL)
ENLACE_CLIENTS_TIMEOUT_SECONDS = env_int("ENLACE_CLIENTS_TIMEOUT_SECONDS", 5)
# Refresh the access token this long before it expires, so a call never races the expiry.
ENLACE_PORTAL_TOKEN_REFRESH_MARGIN_SECONDS = env_int("ENLACE_PORTAL_TOKEN_REFRESH_MARGIN_SECONDS", 30)
# An open notification socket asks identity this often whether its session still lives
# (revocations no event announces: a sign-out on another device, a deactivated account).
ENLACE_PORTAL_SOCKET_SESSION_CHECK_SECONDS = env_int("ENLACE_PORTAL_SOCKET_SESSION_CHECK_SECONDS", 300)

# --- Support chat ------------------------------------------------------------------------------
# The Rasa server (REST channel and, with --enable-api, the HTTP API used to hand back to the bot).
ENLACE_RASA_URL = env_str("ENLACE_RASA_URL", "http://127.0.0.1:5005")
# Past it the subscriber is told the assistant is unavailable and an agent is asked for instead.
ENLACE_RASA_TIMEOUT_SECONDS = float(env_str("ENLACE_RASA_TIMEOUT_SECONDS", "10"))
# Shared with the action server: it signs who the subscriber is on every message sent to Rasa.
if PRODUCTION:
    ENLACE_CHATBOT_METADATA_KEY = env_str("ENLACE_CHATBOT_METADATA_KEY", required=True)
else:
    ENLACE_CHATBOT_METADATA_KEY = env_str("ENLACE_CHATBOT_METADATA_KEY", "enlace-chatbot-development-only")
# The back-office services the agent console reads the subscriber's context from.
ENLACE_BILLING_URL = env_str("ENLACE_BILLING_URL", ENLACE_IDENTITY_URL)
ENLACE_CONTEXT_TIMEOUT_SECONDS = env_int("ENLACE_CONTEXT_TIMEOUT_SECONDS", 3)
# The portal's public address, for the return links a payment gateway sends the browser back
# to (unset: the address the request came to).
ENLACE_PORTAL_URL = env_str("ENLACE_PORTAL_URL", "")
# The subscriber's billing pages (a PDF or a gateway's checkout may take a few seconds).
ENLACE_BILLING_TIMEOUT_SECONDS = env_int("ENLACE_BILLING_TIMEOUT_SECONDS", 10)

# --- E-mail (chat transcripts) ------------------------------------------------------------------
if env_optional("ENLACE_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("ENLACE_EMAIL_HOST")
    EMAIL_PORT = env_int("ENLACE_EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("ENLACE_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = env_optional("ENLACE_EMAIL_PASSWORD") or ""
    EMAIL_USE_TLS = env_bool("ENLACE_EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env_str("ENLACE_DEFAULT_FROM_EMAIL", "Enlace <no-reply@enlace.local>")


# --- Locale ------------------------------------------------------------------------------------
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
LANGUAGE_COOKIE_NAME = "enlace_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
STATIC_ROOT = VAR_DIR / "portal-static"
# Daphne serves no static files itself; the portal serves its few (CSS, htmx) from the app
# directories unless a front proxy does it (set false then).
ENLACE_PORTAL_SERVE_STATIC = env_bool("ENLACE_PORTAL_SERVE_STATIC", True)

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Security ----------------------------------------------------------------------------------
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "django.views.csrf.csrf_failure"
# Scripts and styles come only from the portal itself (htmx from django-htmx's static files).
ENLACE_PORTAL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("ENLACE_PORTAL_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("ENLACE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The client address sent to identity (which throttles sign-in per address) is taken from
# X-Forwarded-For only when the portal sits behind this many trusted proxies.
ENLACE_PORTAL_TRUSTED_PROXIES = env_int("ENLACE_PORTAL_TRUSTED_PROXIES", 0)
