"""DRF authentication with identity's bearer tokens (placeholder until the verifier lands)."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication


class BearerTokenAuthentication(BaseAuthentication):
    pass
