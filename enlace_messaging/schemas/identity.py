"""Events of the identity service (topic enlace.identity.events.v1)."""

from enlace_messaging.catalog import register

register(
    "identity.user.created",
    1,
    {
        "type": "object",
        "required": ["user_id", "email", "roles"],
        "properties": {
            "user_id": {"type": "integer"},
            "email": {"type": "string", "minLength": 3},
            "roles": {"type": "array", "items": {"type": "string"}},
            "client_id": {"type": ["integer", "null"]},
            "language": {"type": "string"},
        },
    },
)

register(
    "identity.password.changed",
    1,
    {
        "type": "object",
        "required": ["user_id", "email", "via"],
        "properties": {
            "user_id": {"type": "integer"},
            "email": {"type": "string"},
            "via": {"enum": ["change", "reset", "activation"]},
        },
    },
)
