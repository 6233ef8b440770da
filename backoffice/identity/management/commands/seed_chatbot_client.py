"""``python -m backoffice seed_chatbot_client``: the support bot's OAuth2 client (idempotent).

The action server authenticates with client credentials as this application. It is granted
only what the bot does: read a client's plan and contract, balance and invoices, create a
payment link, read the network state of a client's services and run a line diagnosis, and open
and read tickets. Credentials come from ``ENLACE_CHATBOT_CLIENT_ID`` / ``_SECRET`` (the same
variables the action server reads); the demo values are used when they are not set.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from oauth2_provider.models import Application

from backoffice.identity.models import OAuthClientScopes

CHATBOT_SCOPES = [
    "clients.read",
    "billing.read",
    "billing.pay_link",
    "network.read",
    "network.diagnose",
    "support.read",
    "support.write",
]
DEMO_CLIENT_ID = "enlace-chatbot"
DEMO_CLIENT_SECRET = "enlace-chatbot-demo-secret"


class Command(BaseCommand):
    help = "Creates or updates the chatbot's OAuth2 client (client credentials) with the bot's scopes."

    def handle(self, *args: Any, **options: Any) -> None:
        client_id = os.environ.get("ENLACE_CHATBOT_CLIENT_ID") or DEMO_CLIENT_ID
        secret = os.environ.get("ENLACE_CHATBOT_CLIENT_SECRET") or DEMO_CLIENT_SECRET
        with transaction.atomic():
            app = Application.objects.filter(client_id=client_id).first()
            if app is None:
                app = Application(client_id=client_id)
            app.name = "Enlace support bot"
            app.client_type = Application.CLIENT_CONFIDENTIAL
            app.authorization_grant_type = Application.GRANT_CLIENT_CREDENTIALS
            # DOT hashes the secret on save, so setting it again is how a rotated secret lands.
            app.client_secret = secret
            app.save()
            OAuthClientScopes.objects.update_or_create(application=app, defaults={"scopes": CHATBOT_SCOPES})
        self.stdout.write(f"chatbot OAuth2 client {client_id}: {' '.join(CHATBOT_SCOPES)}")
