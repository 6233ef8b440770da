"""Portal settings for the test suite: real PostgreSQL and Redis (sessions and channel layer)."""

import os
import tempfile

from tests.fixtures.isolation import pg_prefix, redis_url

os.environ.setdefault("ENLACE_DB_ENGINE", "postgres")
os.environ.setdefault("ENLACE_PG_DB_PREFIX", pg_prefix("enlace_"))
os.environ.setdefault("ENLACE_REDIS_URL", redis_url(4))
os.environ.setdefault("ENLACE_VAR_DIR", tempfile.mkdtemp(prefix="enlace-portal-test-var-"))
# The tests start the consumer themselves, against their own broker.
os.environ.setdefault("ENLACE_PORTAL_EMBEDDED_CONSUMER", "false")

from portal.settings import *  # noqa: F403

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
