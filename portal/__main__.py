"""``python -m portal <command>``: Django's manage.py for the portal."""

import os
import sys

from django.core.management import execute_from_command_line

from enlace_settings.env import SettingsError


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    try:
        execute_from_command_line(sys.argv)
    except SettingsError as exc:
        # A settings mistake: one line saying what to fix, not a traceback through Django.
        sys.exit(f"Enlace portal configuration error: {exc}")


if __name__ == "__main__":
    main()
