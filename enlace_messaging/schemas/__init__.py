"""Importing this package registers every message type's schema."""

from enlace_messaging.schemas import billing, clients, identity, network, support  # noqa: F401
