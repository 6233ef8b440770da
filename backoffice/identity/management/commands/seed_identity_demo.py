"""``python -m backoffice seed_identity_demo``: one demo user per role (idempotent)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from backoffice.demo import DemoSeedCommand
from backoffice.identity import services
from backoffice.identity.models import Role, User

DEMO_PASSWORD = "Enlace-Demo-2026"
DEMO_USERS: list[dict[str, Any]] = [
    {"email": "admin@enlace.demo", "roles": [Role.ADMIN.value], "full_name": "Ada Admin"},
    {"email": "agent@enlace.demo", "roles": [Role.AGENT.value], "full_name": "Bob Agent"},
    {"email": "billing@enlace.demo", "roles": [Role.BILLING.value], "full_name": "Carol Billing"},
    {"email": "noc@enlace.demo", "roles": [Role.NOC.value], "full_name": "Nora Noc"},
    {
        "email": "subscriber@enlace.demo",
        "roles": [Role.SUBSCRIBER.value],
        "full_name": "Alice Subscriber",
        "client_id": 1,
    },
]


class Command(DemoSeedCommand):
    help = f"Creates one demo user per role, password {DEMO_PASSWORD!r}; existing ones are left as they are."

    def handle(self, *args: Any, **options: Any) -> None:
        for spec in DEMO_USERS:
            if User.objects.filter(email=spec["email"]).exists():
                self.stdout.write(f"{spec['email']}: already there")
                continue
            with transaction.atomic():
                user = services.user_create(**spec, password=DEMO_PASSWORD, email_verified=True)
            if Role.ADMIN.value in user.roles:
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
            self.stdout.write(f"{spec['email']}: created ({', '.join(user.roles)})")
