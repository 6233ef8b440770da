"""A consumer declared the way services declare theirs, for the ``consume`` command's tests.

The subprocess reads its topic and effect topic from the environment, set by the test.
"""

from __future__ import annotations

import os

from backoffice.messaging.registry import ConsumerSpec
from enlace_messaging.django.outbox import outbox_put
from enlace_messaging.envelope import Envelope

CONSUMER_DB = "billing"


def record_effect(envelope: Envelope, *, using: str, effect_topic: str) -> None:
    """The effect of a test message: a caused message in the consumer's own outbox."""
    outbox_put(
        using=using,
        topic=effect_topic,
        key=str(envelope.data["user_id"]),
        envelope=envelope.caused(
            type="identity.password.changed",
            data={"user_id": envelope.data["user_id"], "email": envelope.data["email"], "via": "change"},
            source="tests",
        ),
    )


def _handle_user_created(envelope: Envelope) -> None:
    record_effect(envelope, using=CONSUMER_DB, effect_topic=os.environ["ENLACE_TEST_EFFECT_TOPIC"])


CONSUMERS = [
    ConsumerSpec(
        name="test-consumer",
        group_id=os.environ.get("ENLACE_TEST_GROUP", "test-consumer"),
        topics=[os.environ.get("ENLACE_TEST_TOPIC", "enlace.test.unused")],
        using=CONSUMER_DB,
        handlers={"identity.user.created": _handle_user_created},
    )
]
