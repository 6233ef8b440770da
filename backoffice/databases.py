"""The back-office services and the database alias each one owns."""

from __future__ import annotations

SERVICES: tuple[str, ...] = ("identity", "clients", "billing", "network", "support")

# Django needs a "default" alias; identity owns it, together with Django's own tables
# (auth, contenttypes, sessions, admin, oauth2_provider), since those serve identity.
_ALIASES: dict[str, str] = {
    "identity": "default",
    "clients": "clients",
    "billing": "billing",
    "network": "network",
    "support": "support",
}


def service_db(service: str) -> str:
    """The database alias that holds ``service``'s tables."""
    try:
        return _ALIASES[service]
    except KeyError:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}") from None


def all_service_dbs() -> list[str]:
    return [_ALIASES[s] for s in SERVICES]
