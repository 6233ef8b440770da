"""Events of the clients service (topic enlace.clients.events.v1, key: client).

The network service provisions from the subscription events; billing keeps its own copy of what
it invoices (plan price, tax rate, billing day) from them and bills the client named in the
client events. Fields marked "always sent" are sent by the clients service on every event of the
type; consumers that need them treat their absence as a message they cannot process (DLQ).
"""

from enlace_messaging.catalog import register

_RATE = {"type": "string", "pattern": r"^[0-9]+[kMG]?$"}
_MONEY = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$"}  # USD, two decimals
_TAX_RATE = {"type": "string", "pattern": r"^0(\.[0-9]{1,4})?$|^1(\.0{1,4})?$"}  # 0.15 = 15 %
_DATE = {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}

_PLAN = {
    "type": "object",
    "required": ["code", "download", "upload"],
    "properties": {
        "code": {"type": "string"},
        "download": _RATE,
        "upload": _RATE,
        # Always sent by the clients service (billing needs them):
        "name": {"type": "string"},
        "monthly_price": _MONEY,  # without tax
        "tax_rate": _TAX_RATE,
        "installation_fee": _MONEY,
    },
}

_CLIENT = {
    "type": "object",
    "required": ["client_id", "kind", "name", "identification_type", "identification", "language", "status"],
    "properties": {
        "client_id": {"type": "integer"},
        "kind": {"enum": ["person", "company"]},
        "name": {"type": "string", "minLength": 1},
        "identification_type": {"enum": ["cedula", "ruc", "passport"]},
        "identification": {"type": "string", "minLength": 1},
        "email": {"type": ["string", "null"]},
        "billing_email": {"type": ["string", "null"]},
        "phone": {"type": ["string", "null"]},
        "language": {"enum": ["es", "en"]},
        "status": {"enum": ["prospect", "active", "suspended", "retired"]},
        "address": {"type": ["string", "null"]},
    },
}

register("clients.client.created", 1, _CLIENT)
register("clients.client.updated", 1, _CLIENT)

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
            "plan": _PLAN,
            # Always sent by the clients service (billing needs them):
            "billing_day": {"type": "integer", "minimum": 1, "maximum": 28},
            "start_date": _DATE,
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
            "plan": _PLAN,
            # Always sent: the first day the new plan is billed (proration splits the period there).
            "effective_date": _DATE,
        },
    },
)

register(
    "clients.subscription.moved",
    1,
    {
        "type": "object",
        "required": ["subscription_id", "client_id", "router"],
        "properties": {
            "subscription_id": {"type": "integer"},
            "client_id": {"type": "integer"},
            "router": {"type": "string"},
            "address": {"type": ["string", "null"]},
        },
    },
)

register(
    "clients.subscription.cancelled",
    1,
    {
        "type": "object",
        "required": ["subscription_id", "client_id"],
        "properties": {
            "subscription_id": {"type": "integer"},
            "client_id": {"type": "integer"},
            # Always sent: the last day of service (billing prorates the period up to it).
            "effective_date": _DATE,
        },
    },
)
