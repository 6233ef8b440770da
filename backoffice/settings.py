"""Settings of the back-office (identity, clients, billing, network, support).

Embedded defaults need nothing installed: SQLite per service under ``var/``, local-memory
caches. Production sets ``ENLACE_ENV=production`` and must then provide every secret.
"""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from backoffice.databases import SERVICES, service_db
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
    SECRET_KEY = env_str("ENLACE_SECRET_KEY", required=True)
else:
    SECRET_KEY = env_str("ENLACE_SECRET_KEY", "enlace-development-only-not-a-secret")

# Seals the routers' API passwords in the network database (backoffice/network/secrets.py).
ENLACE_ROUTER_SECRET_KEY = (
    env_str("ENLACE_ROUTER_SECRET_KEY", required=True)
    if PRODUCTION
    else env_str("ENLACE_ROUTER_SECRET_KEY", f"router-passwords:{SECRET_KEY}")
)

ALLOWED_HOSTS = env_list("ENLACE_ALLOWED_HOSTS", ["*"] if not PRODUCTION else [])
if PRODUCTION and not ALLOWED_HOSTS:
    raise SettingsError("ENLACE_ALLOWED_HOSTS must list the host names in production")

# Which services this process serves (all of them by default, for development).
ENLACE_SERVICES = env_list("ENLACE_SERVICES", list(SERVICES))
for _service in ENLACE_SERVICES:
    if _service not in SERVICES:
        raise SettingsError(f"ENLACE_SERVICES names unknown service {_service!r}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "enlace_messaging.django",
    "backoffice.messaging",
    "backoffice.identity",
    "backoffice.clients",
    "backoffice.billing",
    "backoffice.network",
    "backoffice.support",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees a view's exception first: a locked SQLite database is a 503, not a 500.
    "backoffice.database_busy.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases: one per service -------------------------------------------------------
_TEST_SUFFIX = env_str("ENLACE_TEST_DB_SUFFIX", "")
# How long a write waits for another process's write to finish before giving up (then 503).
SQLITE_TIMEOUT_SECONDS = env_int("ENLACE_SQLITE_TIMEOUT_SECONDS", 20)


def _database(service: str) -> dict[str, object]:
    if DB_ENGINE == "sqlite":
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / f"{service}.sqlite3"),
            # Shared by the API server, the relay and the consumers: see sqlite_options.
            "OPTIONS": sqlite_options(timeout_seconds=SQLITE_TIMEOUT_SECONDS),
        }
    if DB_ENGINE == "postgres":
        prefix = env_str("ENLACE_PG_DB_PREFIX", "enlace_")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env_str(f"ENLACE_{service.upper()}_DB_NAME", f"{prefix}{service}"),
            "USER": env_str("ENLACE_PG_USER", "postgres"),
            "PASSWORD": env_optional("ENLACE_PG_PASSWORD") or "",
            "HOST": env_str("ENLACE_PG_HOST", "127.0.0.1"),
            "PORT": env_int("ENLACE_PG_PORT", 5432),
            "CONN_MAX_AGE": 60,
            # No service database depends on another; tests may ask for any subset of them.
            "TEST": {"NAME": f"test_{prefix}{service}{_TEST_SUFFIX}", "DEPENDENCIES": []},
        }
    raise SettingsError(f"ENLACE_DB_ENGINE={DB_ENGINE!r}: use sqlite or postgres")


DATABASES = {service_db(service): _database(service) for service in SERVICES}
DATABASE_ROUTERS = ["backoffice.dbrouter.ServiceRouter"]

# --- Redis and caches -------------------------------------------------------------------
REDIS_URL = env_optional("ENLACE_REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        # Refresh-token families, revoked jtis and login throttles (identity).
        "tokens": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("ENLACE_TOKENS_KEY_PREFIX", "enlace-identity"),
        },
    }
elif PRODUCTION:
    raise SettingsError("ENLACE_REDIS_URL must be set in production")
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "tokens": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tokens"},
    }

# --- Identity and tokens --------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Directory holding identity's RS256 signing keys (PEM); created on first use outside production.
ENLACE_JWT_KEYS_DIR = Path(env_str("ENLACE_JWT_KEYS_DIR", str(VAR_DIR / "jwt-keys")))
ENLACE_JWT_ISSUER = env_str("ENLACE_JWT_ISSUER", "enlace-identity")
ENLACE_JWT_AUDIENCE = env_str("ENLACE_JWT_AUDIENCE", "enlace")
ENLACE_ACCESS_TOKEN_SECONDS = env_int("ENLACE_ACCESS_TOKEN_SECONDS", 600)
ENLACE_REFRESH_TOKEN_SECONDS = env_int("ENLACE_REFRESH_TOKEN_SECONDS", 14 * 24 * 3600)
# Where other services (and the portal) find identity: JWKS and introspection.
ENLACE_JWKS_URL = env_str("ENLACE_JWKS_URL", ENLACE_IDENTITY_URL + "/.well-known/jwks.json")
ENLACE_PORTAL_URL = env_str("ENLACE_PORTAL_URL", "http://127.0.0.1:8000")
# Peers (addresses or CIDR networks) whose X-Forwarded-For identity believes: the portal calls
# it server-side for the user and forwards the user's address (backoffice/access/client_ip.py).
ENLACE_TRUSTED_PROXIES = env_list("ENLACE_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
# When identity runs in this process, verify bearer tokens with its key files instead of HTTP.
ENLACE_VERIFY_WITH_LOCAL_KEYS = env_bool("ENLACE_VERIFY_WITH_LOCAL_KEYS", True)

OAUTH2_PROVIDER = {
    # Only the authorization code (with PKCE), client credentials and refresh token grants exist.
    "OAUTH2_SERVER_CLASS": "backoffice.identity.oauth.EnlaceOAuth2Server",
    "PKCE_REQUIRED": True,
    # RFC 9700 (OAuth 2.0 Security BCP): every django-oauth-toolkit gate on. No implicit or
    # password grant, S256 PKCE only (identity's validator also refuses "plain" up front), no
    # access token in a query string, tokens stored as SHA-256 only, "iss" in the authorization
    # response; the config gates make `check --deploy` fail on a non-compliant refresh, redirect
    # URI or PKCE setting.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # "iss" in the authorization response (RFC 9207): identity's origin (no RFC 8414 document).
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOW_URI_WILDCARDS": False,
    "ACCESS_TOKEN_EXPIRE_SECONDS": ENLACE_ACCESS_TOKEN_SECONDS,
    # Refresh tokens rotate; presenting a rotated one revokes its whole family (RFC 9700 §4.14.2).
    # One lifetime with the login refresh tokens, counted from the last access token's expiry.
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REFRESH_TOKEN_EXPIRE_SECONDS": ENLACE_REFRESH_TOKEN_SECONDS,
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    # DOT hands out identity's RS256 JWTs, so services verify them like login tokens.
    "ACCESS_TOKEN_GENERATOR": "backoffice.identity.oauth.access_token_generator",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "OAUTH2_VALIDATOR_CLASS": "backoffice.identity.oauth.ScopedOAuth2Validator",
    # Shown to users on the consent page (identity/authorize.html), hence translatable.
    "SCOPES": {
        "identity.read": _("See user accounts"),
        "clients.read": _("See client records"),
        "clients.write": _("Change client records"),
        "billing.read": _("See invoices and payments"),
        "billing.write": _("Change invoices and payments"),
        "network.read": _("See the state of the network and services"),
        "network.write": _("Change the network and services"),
        "network.diagnose": _("Run line diagnoses"),
        "billing.pay_link": _("Create payment links for a client"),
        "support.read": _("See support tickets"),
        "support.write": _("Open and change support tickets"),
    },
}
# Identity's sign-in page for the OAuth2 consent flow (the admin keeps its own login page).
LOGIN_URL = "/accounts/signin/"
LOGIN_REDIRECT_URL = "/accounts/signin/"
LOGOUT_REDIRECT_URL = "/accounts/signin/"

# Named for Django's migration autodetector (identity.OAuthClientScopes points at DOT's Application).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

# --- E-mail -----------------------------------------------------------------------------------
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

# --- Celery (workers: contracts as PDF; see backoffice/celery.py) -----------------------------------
# Embedded mode uses kombu's filesystem transport: no server, and every process on the machine
# shares the queue through var/celery. Production names a real broker (Redis).
CELERY_BROKER_URL = env_str("ENLACE_CELERY_BROKER_URL", "" if PRODUCTION else "filesystem://")
if not CELERY_BROKER_URL:
    raise SettingsError("ENLACE_CELERY_BROKER_URL must be set in production")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _CELERY_DIR = VAR_DIR / "celery"
    (_CELERY_DIR / "queue").mkdir(parents=True, exist_ok=True)
    (_CELERY_DIR / "processed").mkdir(parents=True, exist_ok=True)
    (_CELERY_DIR / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_CELERY_DIR / "queue"),
        "data_folder_out": str(_CELERY_DIR / "queue"),
        "processed_folder": str(_CELERY_DIR / "processed"),
        # Worker remote control (celery inspect/ping) over the same transport.
        "control_folder": str(_CELERY_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = env_str("ENLACE_CELERY_QUEUE", "enlace")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged after it ran, so a worker killed mid-task leaves it for another.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "America/Guayaquil"

# --- REST framework and OpenAPI ----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["backoffice.access.drf.BearerTokenAuthentication"],
    # IsAuthenticated, except that an app's token (delegated by a user) needs the endpoint's scope.
    "DEFAULT_PERMISSION_CLASSES": ["backoffice.access.drf.IsAuthenticatedInScope"],
    "DEFAULT_SCHEMA_CLASS": "backoffice.access.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backoffice.access.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "backoffice.access.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Enlace back-office API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # The APIs take JSON bodies; the schema says so and nothing else (see docs/api.md).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backoffice.access.openapi.add_error_responses",
    ],
}

# --- Locale ------------------------------------------------------------------------------------------
LOCALE_PATHS = [BASE_DIR / "backoffice" / "locale"]
STATIC_ROOT = VAR_DIR / "static"

# --- Security ----------------------------------------------------------------------------------------
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("ENLACE_HSTS_SECONDS", 31536000)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Billing -------------------------------------------------------------------------------------------
# The SRI establishment and emission point that number invoices and credit notes (001-001-...).
ENLACE_BILLING_ESTABLISHMENT = env_str("ENLACE_BILLING_ESTABLISHMENT", "001")
ENLACE_BILLING_EMISSION_POINT = env_str("ENLACE_BILLING_EMISSION_POINT", "001")
# Payment gateways: each one is enabled by its keys; with none, the demo gateway takes payments.
ENLACE_STRIPE_SECRET_KEY = env_optional("ENLACE_STRIPE_SECRET_KEY")
ENLACE_STRIPE_WEBHOOK_SECRET = env_optional("ENLACE_STRIPE_WEBHOOK_SECRET")
ENLACE_STRIPE_API_BASE = env_optional("ENLACE_STRIPE_API_BASE")  # tests: a local server
ENLACE_PAYPAL_CLIENT_ID = env_optional("ENLACE_PAYPAL_CLIENT_ID")
ENLACE_PAYPAL_CLIENT_SECRET = env_optional("ENLACE_PAYPAL_CLIENT_SECRET")
ENLACE_PAYPAL_WEBHOOK_ID = env_optional("ENLACE_PAYPAL_WEBHOOK_ID")
ENLACE_PAYPAL_API_BASE = env_str("ENLACE_PAYPAL_API_BASE", "https://api-m.sandbox.paypal.com")

# --- Celery beat: the billing run and dunning, invoice e-mails ---------------------------------------
CELERY_BEAT_SCHEDULE = {
    # Today's billing run (subscriptions billed on today's day), then dunning (reminders,
    # overdue accounts): once a day, early, before staff and subscribers look.
    "billing-daily": {"task": "billing.daily", "schedule": crontab(hour=6, minute=0)},
    # Invoice PDFs not e-mailed yet (the run issues them; this sends them in batches).
    "billing-invoices-email": {"task": "billing.invoices_email", "schedule": crontab(minute="*/5")},
}
