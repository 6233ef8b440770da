"""The back office as the portal tests run it in a subprocess (their identity server): its own
settings, with the test suite's fast password hasher."""

from backoffice.settings import *  # noqa: F403

# The production hashers stay after it, so a password stored by a run without this setting
# (a database kept between runs) still checks, and is re-hashed with MD5 when it does.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
