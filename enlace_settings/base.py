"""What the back office's and the portal's settings share; each starts with
``from enlace_settings.base import *`` and adds its own.

Embedded defaults need nothing installed; production sets ``ENLACE_ENV=production`` and must
then provide every secret.
"""

from __future__ import annotations

from pathlib import Path

from enlace_settings.env import env_bool, env_choice, env_optional, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ENLACE_VAR_DIR", str(BASE_DIR / "var")))

# Anything else (a typo such as "prod") would silently run with development defaults.
ENLACE_ENV = env_choice("ENLACE_ENV", "development", ("development", "production"))
PRODUCTION = ENLACE_ENV == "production"
DEBUG = env_bool("ENLACE_DEBUG", not PRODUCTION)

# Which database engine holds the data: sqlite (embedded default) or postgres.
DB_ENGINE = env_str("ENLACE_DB_ENGINE", "sqlite")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

KAFKA_BOOTSTRAP_SERVERS = env_str("ENLACE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
# TLS and SASL for every Kafka client of both projects (compose gives each component its own
# principal: docs/deploy-kafka.md).
KAFKA_CLIENT_OPTIONS: dict[str, object] = {}
if env_optional("ENLACE_KAFKA_SECURITY_PROTOCOL"):
    KAFKA_CLIENT_OPTIONS["security_protocol"] = env_str("ENLACE_KAFKA_SECURITY_PROTOCOL")
if env_optional("ENLACE_KAFKA_SSL_CAFILE"):
    KAFKA_CLIENT_OPTIONS["ssl_cafile"] = env_str("ENLACE_KAFKA_SSL_CAFILE")
if env_optional("ENLACE_KAFKA_SASL_MECHANISM"):
    KAFKA_CLIENT_OPTIONS["sasl_mechanism"] = env_str("ENLACE_KAFKA_SASL_MECHANISM")
    KAFKA_CLIENT_OPTIONS["sasl_plain_username"] = env_str("ENLACE_KAFKA_SASL_USERNAME")
    KAFKA_CLIENT_OPTIONS["sasl_plain_password"] = env_str("ENLACE_KAFKA_SASL_PASSWORD")
# Where identity answers (sign-in, JWKS, introspection).
ENLACE_IDENTITY_URL = env_str("ENLACE_IDENTITY_URL", "http://127.0.0.1:8001")

# --- Locale ------------------------------------------------------------------------------------------
LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español"), ("en", "English")]
TIME_ZONE = "America/Guayaquil"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# --- Security ----------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("ENLACE_LOG_LEVEL", "INFO")},
}
