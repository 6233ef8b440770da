"""What every demo-data command shares: it refuses to run against a production system."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class DemoSeedCommand(BaseCommand):
    """A management command that writes demo data (known passwords, fake subscribers).

    Refuses with ``ENLACE_ENV=production``, before touching any database: demo accounts with
    a published password must never exist on a real system.
    """

    def execute(self, *args: Any, **options: Any) -> str | None:
        if settings.PRODUCTION:
            raise CommandError(
                f"{self.__module__.rpartition('.')[2]} writes demo data (accounts with a published "
                "password) and refuses to run with ENLACE_ENV=production."
            )
        return super().execute(*args, **options)
