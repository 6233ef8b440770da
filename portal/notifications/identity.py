"""Notifications about the user's account, from identity's events."""

from __future__ import annotations

from backoffice.messaging import catalog
from backoffice.messaging.envelope import Envelope
from portal.notifications.registry import Delivery, Push, SessionCheck, notification_handler


@notification_handler(catalog.IDENTITY_EVENTS, "identity.password.changed")
def password_changed(envelope: Envelope) -> list[Delivery]:
    """Every open page of the user says their password was changed (a warning if it wasn't them);
    then the pages whose session identity ended with the change (every other one on a change,
    all on a reset) close their socket."""
    user_id = int(envelope.data["user_id"])
    return [
        Push(
            user_id=user_id,
            template="portal/notifications/password_changed.html",
            context={"via": envelope.data["via"], "occurred_at": envelope.occurred_at, "id": envelope.id},
        ),
        SessionCheck(user_id=user_id),
    ]
