"""Subscription events of the clients service (topic enlace.clients.events.v1, key: client)."""

from backoffice.messaging.catalog import register

_RATE = {"type": "string", "pattern": r"^[0-9]+[kMG]?$"}

register(
    "clients.subscription.created",
    1,
    {
        "type": "object",
        "required": ["subscription_id", "client_id", "plan", "router", "pppoe_username", "pppoe_password"],
        "properties": {
            "subscription_id": {"type": "integer"},
            "client_id": {"type": "integer"},
            "router": {"type": "string"},
            "pppoe_username": {"type": "string"},
            "pppoe_password": {"type": "string"},
            "address": {"type": ["string", "null"]},
            "plan": {
                "type": "object",
                "required": ["code", "download", "upload"],
                "properties": {"code": {"type": "string"}, "download": _RATE, "upload": _RATE},
            },
        },
    },
)

register(
    "clients.subscription.plan_changed",
    1,
    {
        "type": "object",
        "required": ["subscription_id", "client_id", "plan"],
        "properties": {
            "subscription_id": {"type": "integer"},
            "client_id": {"type": "integer"},
            "plan": {
                "type": "object",
                "required": ["code", "download", "upload"],
                "properties": {"code": {"type": "string"}, "download": _RATE, "upload": _RATE},
            },
        },
    },
)

register(
    "clients.subscription.cancelled",
    1,
    {
        "type": "object",
        "required": ["subscription_id", "client_id"],
        "properties": {"subscription_id": {"type": "integer"}, "client_id": {"type": "integer"}},
    },
)
