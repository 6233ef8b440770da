"""Events of the support service (topic enlace.support.events.v1, key: ticket id).

The portal's agent console and notifications follow tickets from them: ``created`` when a
ticket is opened (by the bot, an agent or the portal form), ``updated`` when its status changes
or someone comments.
"""

from enlace_messaging.catalog import register

_STATUS = {"enum": ["new", "open", "pending", "resolved", "closed"]}

register(
    "support.ticket.created",
    1,
    {
        "type": "object",
        "required": [
            "ticket_id",
            "client_id",
            "subject",
            "status",
            "source",
            "conversation_id",
            "created_by",
        ],
        "properties": {
            "ticket_id": {"type": "integer"},
            "client_id": {"type": "integer"},
            "subject": {"type": "string", "minLength": 1},
            "status": _STATUS,
            "source": {"enum": ["bot", "agent", "portal"]},
            "conversation_id": {"type": ["string", "null"]},
            "created_by": {"type": "string"},
        },
    },
)

register(
    "support.ticket.updated",
    1,
    {
        "type": "object",
        "required": ["ticket_id", "client_id", "change", "status", "previous_status", "by"],
        "properties": {
            "ticket_id": {"type": "integer"},
            "client_id": {"type": "integer"},
            "change": {"enum": ["status", "comment"]},
            "status": _STATUS,
            "previous_status": _STATUS,
            "by": {"type": "string"},
            "comment_id": {"type": ["integer", "null"]},
        },
    },
)
