"""The outbox messages of a change: desired-state commands (with their history rows) and the
portal's ``network.service.changed`` events."""

from __future__ import annotations

from datetime import datetime

from backoffice.network.commands import desired_state_envelope, service_changed_envelope
from backoffice.network.models import Service, ServiceCommand
from backoffice.network.services.common import DB
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put_many
from enlace_messaging.envelope import Envelope


class Messages:
    """The commands and events of a change, written with one INSERT per table on ``save``.

    Outbox rows keep the order they were added in (the relay publishes in that order).
    """

    def __init__(self) -> None:
        self.outbox: list[tuple[str, str | None, Envelope]] = []
        self.commands: list[ServiceCommand] = []

    def desired(
        self,
        service: Service,
        *,
        kind: str,
        now: datetime,
        router_name: str | None = None,
        status: str | None = None,
        kick: bool = False,
        causation: Envelope | None = None,
    ) -> Messages:
        """Adds the ``network.service.desired`` command of ``service``'s current revision,
        keyed by its router, and its row in the command history."""
        envelope = desired_state_envelope(
            service, router_name=router_name, status=status, kick=kick, causation=causation
        )
        key = envelope.data["router"]
        self.outbox.append((catalog.NETWORK_COMMANDS, key, envelope))
        self.commands.append(
            ServiceCommand(
                command_id=envelope.id,
                service=service,
                revision=service.revision,
                kind=kind,
                router_name=key,
                status=envelope.data["status"],
                kick=kick,
                created_at=now,
            )
        )
        return self

    def announce(
        self, service: Service, *, applied: bool, error: str | None = None, causation: Envelope | None = None
    ) -> Messages:
        """Adds a ``network.service.changed`` for the portal, keyed by subscription."""
        envelope = service_changed_envelope(service, applied=applied, error=error, causation=causation)
        self.outbox.append((catalog.NETWORK_EVENTS, str(service.subscription_id), envelope))
        return self

    def moved(
        self,
        service: Service,
        *,
        kind: str,
        now: datetime,
        kick: bool = False,
        causation: Envelope | None = None,
    ) -> Messages:
        """A status change: its desired-state command and the portal's (not yet applied) event."""
        return self.desired(service, kind=kind, now=now, kick=kick, causation=causation).announce(
            service, applied=False, causation=causation
        )

    def save(self) -> None:
        if self.outbox:
            outbox_put_many(using=DB, messages=self.outbox)
        if self.commands:
            ServiceCommand.objects.bulk_create(self.commands)
        self.outbox, self.commands = [], []
