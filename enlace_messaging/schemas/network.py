"""Commands to the netagent, its results, and the network service's events.

Commands (topic enlace.network.commands.v1, key: the router's name) carry desired state with a
revision per subscription: the netagent ignores a revision older than the one it applied.
"""

from enlace_messaging.catalog import register

_RATE = {"type": "string", "pattern": r"^[0-9]+[kMG]?$"}
_ROUTER = {"type": "string", "minLength": 1, "maxLength": 64}
_IPV4 = {"type": "string", "pattern": r"^([0-9]{1,3}\.){3}[0-9]{1,3}$"}

register(
    "network.service.desired",
    1,
    {
        "type": "object",
        "required": ["subscription_id", "router", "revision", "status", "pppoe", "address", "speed"],
        "properties": {
            "subscription_id": {"type": "integer"},
            "client_id": {"type": ["integer", "null"]},
            "router": _ROUTER,
            "revision": {"type": "integer", "minimum": 1},
            "status": {"enum": ["active", "suspended", "terminated"]},
            "pppoe": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string", "minLength": 1, "maxLength": 64},
                    "password": {"type": "string", "minLength": 1},
                    "profile": {"type": "string", "minLength": 1},
                },
            },
            "address": _IPV4,
            "speed": {
                "type": "object",
                "required": ["download", "upload"],
                "properties": {"download": _RATE, "upload": _RATE},
            },
            # Drop the live PPP session after applying, so the change bites (plan change).
            "kick": {"type": "boolean"},
        },
    },
)

register(
    "network.router.reconcile",
    1,
    {"type": "object", "required": ["router"], "properties": {"router": _ROUTER}},
)

register(
    "network.service.diagnose",
    1,
    {
        "type": "object",
        "required": ["request_id", "subscription_id", "router", "username"],
        "properties": {
            "request_id": {"type": "string"},
            "subscription_id": {"type": "integer"},
            "router": _ROUTER,
            "username": {"type": "string"},
        },
    },
)

# --- results (topic enlace.network.results.v1, key: the router's name) -------------------------
register(
    "network.command.applied",
    1,
    {
        "type": "object",
        "required": ["command_id", "subscription_id", "router", "revision", "status"],
        "properties": {
            "command_id": {"type": "string"},
            "subscription_id": {"type": "integer"},
            "router": _ROUTER,
            "revision": {"type": "integer"},
            "status": {"enum": ["active", "suspended", "terminated"]},
            "online": {"type": ["boolean", "null"]},
        },
    },
)

register(
    "network.command.failed",
    1,
    {
        "type": "object",
        "required": ["command_id", "router", "error", "permanent"],
        "properties": {
            "command_id": {"type": "string"},
            "subscription_id": {"type": ["integer", "null"]},
            "router": _ROUTER,
            "revision": {"type": ["integer", "null"]},
            "error": {"type": "string"},
            "permanent": {"type": "boolean"},
        },
    },
)

register(
    "network.router.reconciled",
    1,
    {
        "type": "object",
        "required": ["router", "repaired"],
        "properties": {
            "router": _ROUTER,
            "repaired": {"type": "array", "items": {"type": "string"}},
        },
    },
)

register(
    "network.diagnosis.completed",
    1,
    {
        "type": "object",
        "required": ["request_id", "subscription_id", "router", "online"],
        "properties": {
            "request_id": {"type": "string"},
            "subscription_id": {"type": "integer"},
            "router": _ROUTER,
            "online": {"type": "boolean"},
            "address": {"type": ["string", "null"]},
            "uptime": {"type": ["string", "null"]},
            "caller_id": {"type": ["string", "null"]},
            "error": {"type": ["string", "null"]},
        },
    },
)

# --- events for the portal and others (topic enlace.network.events.v1, key: subscription) ------
register(
    "network.service.changed",
    1,
    {
        "type": "object",
        "required": ["subscription_id", "status"],
        "properties": {
            "subscription_id": {"type": "integer"},
            "client_id": {"type": ["integer", "null"]},
            "status": {"enum": ["pending", "active", "suspended", "terminated"]},
            "reason": {"type": ["string", "null"]},
            "online": {"type": ["boolean", "null"]},
            # Whether the router confirmed this state (false: just decided, or the router failed).
            "applied": {"type": "boolean"},
            "revision": {"type": "integer"},
            # The router's message when applying failed (for staff; not meant for subscribers).
            "error": {"type": ["string", "null"]},
        },
    },
)
