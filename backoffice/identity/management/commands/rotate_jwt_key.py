"""``python -m backoffice rotate_jwt_key``: a new signing key; retired keys past their tokens' life go."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand

from backoffice.identity import keys


class Command(BaseCommand):
    help = "Creates a new RS256 signing key (the newest signs) and deletes keys no token can still need."

    def handle(self, *args: Any, **options: Any) -> None:
        now = datetime.now(UTC)
        key = keys.create_key(now=now)
        removed = keys.prune_keys(now=now)
        self.stdout.write(f"new signing key {key.kid} in {key.path.parent}")
        for old in removed:
            self.stdout.write(f"removed retired key {old.kid}")
