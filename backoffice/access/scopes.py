"""What an OAuth2 scope lets a token do, and which scopes each role may hand to an app.

Free of Django, like the verifier: any service can read it.

A scope is ``<service>.read`` (GET, HEAD, OPTIONS) or ``<service>.write`` (anything else), where
``<service>`` is the back-office package that serves the endpoint (``backoffice.network.api`` →
``network``). A *delegated* token (a user's token held by a third-party app) may do what the
user's roles allow AND what its scopes name, never more than either: a subscriber cannot hand an
app ``network.write``, and an admin who lets an app read tickets does not hand it her admin rights.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The scopes whose endpoints each role reaches itself (its own data for a subscriber). An app a
# user consents gets at most the union over the user's roles, whatever it asked for.
ROLE_SCOPES: Mapping[str, frozenset[str]] = {
    "subscriber": frozenset(
        {"identity.read", "clients.read", "billing.read", "network.read", "support.read", "support.write"}
    ),
    "agent": frozenset({"identity.read", "clients.read", "billing.read", "support.read", "support.write"}),
    "billing": frozenset({"identity.read", "clients.read", "clients.write", "billing.read", "billing.write"}),
    "noc": frozenset({"identity.read", "clients.read", "network.read", "network.write"}),
    "admin": frozenset(
        {
            "identity.read",
            "clients.read",
            "clients.write",
            "billing.read",
            "billing.write",
            "network.read",
            "network.write",
            "support.read",
            "support.write",
        }
    ),
}


def scopes_for_roles(roles: Iterable[str]) -> frozenset[str]:
    """Every scope a user holding ``roles`` may delegate (none for an unknown role)."""
    allowed: set[str] = set()
    for role in roles:
        allowed |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(allowed)


def narrow_to_roles(scopes: Iterable[str], roles: Iterable[str]) -> list[str]:
    """``scopes`` without those the roles do not allow, in their original order."""
    allowed = scopes_for_roles(roles)
    return [scope for scope in scopes if scope in allowed]


def service_of_module(module: str) -> str | None:
    """The back-office service a Python module belongs to (``backoffice.network.api`` → ``network``)."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "backoffice" and parts[1] != "access":
        return parts[1]
    return None


def scope_for(*, service: str, method: str) -> str:
    """The scope a delegated token needs to call ``method`` on an endpoint of ``service``."""
    return f"{service}.read" if method.upper() in SAFE_METHODS else f"{service}.write"
