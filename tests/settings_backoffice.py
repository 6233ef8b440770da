"""Back-office settings for the test suite: real PostgreSQL (one database per service) and Redis."""

import os
import tempfile

from tests.fixtures.isolation import pg_prefix, redis_url

os.environ.setdefault("ENLACE_DB_ENGINE", "postgres")
os.environ.setdefault("ENLACE_PG_DB_PREFIX", pg_prefix("enlace_"))
os.environ.setdefault("ENLACE_REDIS_URL", redis_url(1))
os.environ.setdefault("ENLACE_CELERY_BROKER_URL", redis_url(6))
os.environ.setdefault("ENLACE_VAR_DIR", tempfile.mkdtemp(prefix="enlace-test-var-"))

from backoffice.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Hashing at argon2's cost is what makes a password hard to guess, and nothing the tests check;
# MD5 keeps every sign-in and user created by a test from costing tens of milliseconds.
# The production hashers stay after it, so a password stored by a run without this setting
# (a database kept between runs) still checks, and is re-hashed with MD5 when it does.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
