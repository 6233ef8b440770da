"""Events of the billing service (topic enlace.billing.events.v1, key: the client's id).

The network service suspends on ``billing.account.overdue`` and reactivates on
``billing.account.settled``; the portal notifies the subscriber of the others.
"""

from enlace_messaging.catalog import register

_MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"}
_DATE = {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}

_ACCOUNT = {
    "type": "object",
    "required": ["client_id"],
    "properties": {
        "client_id": {"type": "integer"},
        # Which subscriptions the event concerns; all of the client's when absent.
        "subscription_ids": {"type": "array", "items": {"type": "integer"}},
        "balance": _MONEY,
        "reason": {"type": "string"},
    },
}

register("billing.account.overdue", 1, _ACCOUNT)
register("billing.account.settled", 1, _ACCOUNT)

register(
    "billing.invoice.issued",
    1,
    {
        "type": "object",
        "required": ["client_id", "invoice_number", "total", "due_date"],
        "properties": {
            "client_id": {"type": "integer"},
            "subscription_id": {"type": "integer"},
            "invoice_number": {"type": "string", "pattern": r"^[0-9]{3}-[0-9]{3}-[0-9]{9}$"},
            "period_start": _DATE,
            "period_end": _DATE,
            "total": _MONEY,
            "due_date": _DATE,
        },
    },
)

register(
    "billing.invoice.reminder",
    1,
    {
        "type": "object",
        "required": ["client_id", "invoice_number", "amount_due", "due_date", "offset_days"],
        "properties": {
            "client_id": {"type": "integer"},
            "invoice_number": {"type": "string"},
            "amount_due": _MONEY,
            "due_date": _DATE,
            # Days from the due date: negative before it, 0 on the day, positive after.
            "offset_days": {"type": "integer"},
        },
    },
)

register(
    "billing.payment.received",
    1,
    {
        "type": "object",
        "required": ["client_id", "payment_id", "amount", "method", "balance"],
        "properties": {
            "client_id": {"type": "integer"},
            "payment_id": {"type": "integer"},
            "amount": _MONEY,
            "method": {"enum": ["cash", "transfer", "stripe", "paypal", "demo"]},
            # The client's balance after the payment (negative: credit in the client's favour).
            "balance": _MONEY,
            "checkout_reference": {"type": ["string", "null"]},
        },
    },
)

register(
    "billing.credit_note.issued",
    1,
    {
        "type": "object",
        "required": ["client_id", "number", "invoice_number", "total"],
        "properties": {
            "client_id": {"type": "integer"},
            "number": {"type": "string"},
            "invoice_number": {"type": "string"},
            "total": _MONEY,
            "reason": {"type": "string"},
        },
    },
)
