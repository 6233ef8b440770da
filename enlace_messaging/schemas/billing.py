"""Billing events the network service reacts to (topic enlace.billing.events.v1, key: client)."""

from enlace_messaging.catalog import register

_ACCOUNT = {
    "type": "object",
    "required": ["client_id"],
    "properties": {
        "client_id": {"type": "integer"},
        # Which subscriptions the event concerns; all of the client's when absent.
        "subscription_ids": {"type": "array", "items": {"type": "integer"}},
        "balance": {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"},
        "reason": {"type": "string"},
    },
}

register("billing.account.overdue", 1, _ACCOUNT)
register("billing.account.settled", 1, _ACCOUNT)
