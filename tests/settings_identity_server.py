"""The back office as the portal tests run it in a subprocess (their identity server): its own
settings, with the test suite's fast password hasher."""

from backoffice.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
