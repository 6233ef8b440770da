"""Which message types become notifications, and for whom.

A handler turns one envelope into pushes: HTML fragments for the open pages of one user, or of
every user of one client (a subscriber's household may have several accounts), or session
checks (the open pages of one user make sure identity still accepts their session). Other
features add theirs in their own module, listed in ``ENLACE_PORTAL_NOTIFICATION_MODULES``::

    @notification_handler(catalog.NETWORK_EVENTS, "network.service.changed")
    def service_changed(envelope: Envelope) -> list[Push]:
        return [Push(user_id=..., template="portal/notifications/service_changed.html", context={...})]

The consumer subscribes to every topic a handler names; types without a handler are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from backoffice.messaging.envelope import Envelope
from portal.conf import settings

# What the WebSocket consumer does with a push (its method ``notification_fragment``).
FRAGMENT_EVENT = "notification.fragment"


@dataclass(frozen=True, kw_only=True)
class Push:
    """A fragment for every open page of one user (``user_id``) or of one client (``client_id``);
    exactly one of the two is given.

    The template renders on each socket in that socket's language, so handlers pass plain,
    JSON-serialisable data (it crosses Redis) and no translated text.
    """

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    client_id: int | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.client_id is None):
            raise ValueError("a push targets either a user_id or a client_id")

    def group(self) -> str:
        """The channel-layer group of the sockets this push is for."""
        if self.client_id is not None:
            return client_group(self.client_id)
        assert self.user_id is not None  # __post_init__ guarantees one of the two
        return user_group(self.user_id)

    def channel_message(self) -> dict[str, Any]:
        return {"type": FRAGMENT_EVENT, "template": self.template, "context": self.context}


# What the WebSocket consumer does with a session check (its method ``session_check``).
SESSION_CHECK_EVENT = "session.check"


@dataclass(frozen=True, kw_only=True)
class SessionCheck:
    """Every open socket of ``user_id`` asks identity whether its session is still alive and
    closes if not: identity revoked some (or all) of the user's sessions."""

    user_id: int

    def group(self) -> str:
        return user_group(self.user_id)

    def channel_message(self) -> dict[str, Any]:
        return {"type": SESSION_CHECK_EVENT}


Delivery = Push | SessionCheck
Handler = Callable[[Envelope], Iterable[Delivery]]


@dataclass(frozen=True)
class _Registration:
    topic: str
    handler: Handler


_HANDLERS: dict[str, _Registration] = {}


def user_group(user_id: int) -> str:
    """The channel-layer group that every open socket of ``user_id`` joins."""
    return f"user-{int(user_id)}"


def client_group(client_id: int) -> str:
    """The channel-layer group that every open socket of a user of ``client_id`` joins."""
    return f"client-{int(client_id)}"


def notification_handler(topic: str, message_type: str) -> Callable[[Handler], Handler]:
    """Registers the decorated function as the handler of ``message_type`` (read from ``topic``)."""

    def register(handler: Handler) -> Handler:
        existing = _HANDLERS.get(message_type)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"{message_type} already has a handler: {existing.handler.__qualname__}")
        _HANDLERS[message_type] = _Registration(topic=topic, handler=handler)
        return handler

    return register


def handlers_load() -> None:
    """Imports every module of ``ENLACE_PORTAL_NOTIFICATION_MODULES`` (they register on import)."""
    for module in settings.ENLACE_PORTAL_NOTIFICATION_MODULES:
        import_module(module)


def subscribed_topics() -> list[str]:
    """The topics the notification consumer must read."""
    handlers_load()
    return sorted({registration.topic for registration in _HANDLERS.values()})


def envelope_pushes(envelope: Envelope) -> list[Delivery]:
    """What the handler of ``envelope.type`` makes of it; nothing for types without one."""
    handlers_load()
    registration = _HANDLERS.get(envelope.type)
    if registration is None:
        return []
    return list(registration.handler(envelope))
