"""Back-office settings for the test suite: real PostgreSQL (one database per service) and Redis."""

import os
import tempfile

os.environ.setdefault("ENLACE_DB_ENGINE", "postgres")
os.environ.setdefault("ENLACE_REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("ENLACE_VAR_DIR", tempfile.mkdtemp(prefix="enlace-test-var-"))

from backoffice.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
