"""``python -m backoffice unlock_sign_in [--email E]... [--ip A]...``: lifts sign-in lockouts now."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.identity import services


class Command(BaseCommand):
    help = (
        "Lets locked-out accounts (--email) or client addresses (--ip) sign in again before their "
        "15-minute window ends; each unlock is written to the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", action="append", default=[], help="an account's e-mail (repeatable)")
        parser.add_argument("--ip", action="append", default=[], help="a client IP address (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        emails: list[str] = options["email"]
        ips: list[str] = options["ip"]
        if not emails and not ips:
            raise CommandError("name at least one --email or --ip to unlock")
        for ip in ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise CommandError(f"--ip {ip!r} is not an IP address") from None
        for email in emails:
            lifted = services.sign_in_unlock(email=email, by="command:unlock_sign_in")
            self.stdout.write(f"{email}: {'unlocked' if lifted else 'was not locked'}")
        for ip in ips:
            lifted = services.sign_in_unlock(ip=ip, by="command:unlock_sign_in")
            self.stdout.write(f"{ip}: {'unlocked' if lifted else 'was not locked'}")
