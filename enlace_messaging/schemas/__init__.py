"""Importing this package registers every message type's schema."""

from backoffice.messaging.schemas import billing, clients, identity, network  # noqa: F401
