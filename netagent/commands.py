"""Handling one command: the netagent's application layer.

Each handler takes a :class:`Delivery` (the record as read, plus its parsed envelope), makes one
domain call on the router and publishes the result through a :class:`ResultSink`. Retryable
trouble (a router that cannot be reached, a broker that does not acknowledge) propagates as
``RouterError(permanent=False)`` or ``BrokerUnavailable``; the worker retries the whole handler,
which is safe because every step is idempotent. A permanent refusal is reported as
``network.command.failed`` and dead-lettered here.

Exactly-once in effect, per desired-state command:

1. a command id already in ``processed_command`` is acknowledged and nothing else;
2. a revision older than the one applied is acknowledged and ignored (no result: the newer
   revision's result already told the network service where the subscription stands);
3. the same revision again (a replay after a crash or a lost result) is re-verified: drift is
   repaired, sessions are not kicked again, and ``applied`` is published again;
4. a newer revision is applied; the revision is recorded *before* the result is published (so
   a retry after a failed publish is a replay, not a second kick) and the command id *after*
   (so a crash in between re-publishes the result instead of losing it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from backoffice.messaging.envelope import Envelope
from netagent.apply import (
    ApplySettings,
    DesiredService,
    Router,
    router_reconcile,
    service_apply,
    session_diagnose,
)
from netagent.metrics import Metrics
from netagent.routeros import RouterError
from netagent.state import StateStore

logger = logging.getLogger(__name__)

SOURCE = "netagent"

DESIRED = "network.service.desired"
RECONCILE = "network.router.reconcile"
DIAGNOSE = "network.service.diagnose"
APPLIED = "network.command.applied"
FAILED = "network.command.failed"
RECONCILED = "network.router.reconciled"
DIAGNOSED = "network.diagnosis.completed"


@dataclass
class Delivery:
    """One record from the commands topic; ``ack()`` marks it done so its offset may be committed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()
    envelope: Envelope | None = None
    #: Why the delivery cannot be applied (set by the dispatcher for the refusals lane).
    problem: str | None = None
    ack: Callable[[], None] = field(default=lambda: None, repr=False)

    @property
    def router(self) -> str | None:
        """The router the command is for: its ``data.router``, else the record key."""
        if self.envelope is not None and isinstance(self.envelope.data.get("router"), str):
            return str(self.envelope.data["router"])
        return self.key.decode("utf-8", "replace") if self.key else None


class ResultSink(Protocol):
    """Where results and refused commands go (Kafka in production)."""

    def publish(self, envelope: Envelope, *, key: str) -> None:
        """Publishes a result keyed by router; raises BrokerUnavailable."""
        ...

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Sends the record untouched to the commands' DLQ with ``reason``; raises BrokerUnavailable."""
        ...


class CommandHandler:
    """Turns commands into router changes and results (one instance shared by all workers)."""

    def __init__(
        self,
        *,
        store: StateStore,
        settings: ApplySettings,
        sink: ResultSink,
        metrics: Metrics,
        remove_unknown: bool = False,
    ) -> None:
        self.store = store
        self.settings = settings
        self.sink = sink
        self.metrics = metrics
        self.remove_unknown = remove_unknown

    # ------------------------------------------------------------ desired state

    def desired_apply(self, router: Router, delivery: Delivery) -> None:
        """Applies a ``network.service.desired`` command (see the module doc for the rules).

        Raises RouterError(permanent=False) or BrokerUnavailable for the caller to retry.
        """
        command = _envelope(delivery)
        desired = DesiredService.from_data(command.data)
        if self.store.command_processed(command.id):
            logger.info("%s: command %s already processed", router.name, command.id)
            return
        applied = self.store.service_get(desired.subscription_id)
        if applied is not None and desired.revision < applied.revision:
            logger.info(
                "%s: sub %s revision %s is older than the applied %s; ignored",
                router.name,
                desired.subscription_id,
                desired.revision,
                applied.revision,
            )
            self.metrics.commands_stale.labels(router.name).inc()
            self.store.command_record(command.id)
            return
        replay = applied is not None and desired.revision == applied.revision
        started = time.monotonic()
        try:
            report = service_apply(
                router,
                desired,
                self.settings,
                previous=applied.desired if applied is not None else None,
                replay=replay,
            )
        except RouterError as exc:
            if not exc.permanent:
                raise
            self._refuse(
                delivery, exc.message, subscription_id=desired.subscription_id, revision=desired.revision
            )
            return
        self.metrics.apply_seconds.labels(router.name, DESIRED).observe(time.monotonic() - started)
        self.store.service_record(desired, command_id=command.id)
        logger.info(
            "%s: sub %s revision %s %s%s: %s",
            router.name,
            desired.subscription_id,
            desired.revision,
            desired.status,
            " (replay)" if replay else "",
            "; ".join(report.changes) or "no change",
        )
        self.sink.publish(
            command.caused(
                type=APPLIED,
                data={
                    "command_id": command.id,
                    "subscription_id": desired.subscription_id,
                    "router": router.name,
                    "revision": desired.revision,
                    "status": desired.status,
                    "online": report.online,
                },
                source=SOURCE,
            ),
            key=router.name,
        )
        self.store.command_record(command.id)
        self.metrics.commands_applied.labels(router.name, DESIRED).inc()

    # ---------------------------------------------------------------- reconcile

    def reconcile(self, router: Router, delivery: Delivery | None = None) -> list[str]:
        """Repairs the router's drift from the state last applied and reports it.

        On a ``network.router.reconcile`` command the report is always published; a periodic
        reconcile (no delivery) publishes only when it repaired something. Raises RouterError
        (a permanent one only from a periodic run) or BrokerUnavailable.
        """
        command = _envelope(delivery) if delivery is not None else None
        started = time.monotonic()
        try:
            repaired = router_reconcile(
                router,
                self.store.service_list(router.name),
                self.settings,
                remove_unknown=self.remove_unknown,
            )
        except RouterError as exc:
            if exc.permanent and delivery is not None:
                self._refuse(delivery, exc.message)
                return []
            raise
        if repaired:
            logger.warning("%s: reconcile repaired drift: %s", router.name, "; ".join(repaired))
            self.metrics.repairs.labels(router.name).inc(len(repaired))
        data = {"router": router.name, "repaired": repaired}
        if command is not None:
            self.metrics.apply_seconds.labels(router.name, RECONCILE).observe(time.monotonic() - started)
            self.sink.publish(command.caused(type=RECONCILED, data=data, source=SOURCE), key=router.name)
            self.metrics.commands_applied.labels(router.name, RECONCILE).inc()
        elif repaired:
            self.sink.publish(Envelope.new(type=RECONCILED, data=data, source=SOURCE), key=router.name)
        return repaired

    # ----------------------------------------------------------------- diagnose

    def diagnose(self, router: Router, delivery: Delivery) -> None:
        """Answers a ``network.service.diagnose`` with the subscriber's live session, at once.

        A router that cannot be reached is an answer too (``online: false`` with ``error``),
        so the chat never waits. Raises BrokerUnavailable.
        """
        command = _envelope(delivery)
        data: dict[str, Any] = {
            "request_id": command.data["request_id"],
            "subscription_id": command.data["subscription_id"],
            "router": router.name,
            "online": False,
        }
        try:
            diagnosis = session_diagnose(router, command.data["username"])
        except RouterError as exc:
            data["error"] = exc.message
        else:
            data.update(
                online=diagnosis.online,
                address=diagnosis.address,
                uptime=diagnosis.uptime,
                caller_id=diagnosis.caller_id,
            )
        self.sink.publish(command.caused(type=DIAGNOSED, data=data, source=SOURCE), key=router.name)
        self.metrics.commands_applied.labels(router.name, DIAGNOSE).inc()

    # ------------------------------------------------------------------ refusals

    def refuse(self, delivery: Delivery, reason: str) -> None:
        """Reports a command that cannot be applied (unknown router or type) and dead-letters it.

        Raises BrokerUnavailable.
        """
        data = delivery.envelope.data if delivery.envelope is not None else {}
        revision = data.get("revision")
        subscription = data.get("subscription_id")
        self._refuse(
            delivery,
            reason,
            subscription_id=subscription if isinstance(subscription, int) else None,
            revision=revision if isinstance(revision, int) else None,
        )

    def invalid(self, delivery: Delivery, reason: str) -> None:
        """Dead-letters a record that is not a valid command. Raises BrokerUnavailable."""
        logger.warning(
            "invalid command at %s/%s@%s: %s", delivery.topic, delivery.partition, delivery.offset, reason
        )
        self.sink.dead_letter(delivery, reason)
        self.metrics.commands_invalid.inc()

    def _refuse(
        self,
        delivery: Delivery,
        reason: str,
        *,
        subscription_id: int | None = None,
        revision: int | None = None,
    ) -> None:
        command = _envelope(delivery)
        router = delivery.router or "unknown"
        if self.store.command_processed(command.id):
            return
        logger.warning("%s: %s %s failed for good: %s", router, command.type, command.id, reason)
        self.sink.publish(
            command.caused(
                type=FAILED,
                data={
                    "command_id": command.id,
                    "subscription_id": subscription_id,
                    "router": router[:64],
                    "revision": revision,
                    "error": reason,
                    "permanent": True,
                },
                source=SOURCE,
            ),
            key=router,
        )
        self.sink.dead_letter(delivery, reason)
        # Recorded last: a crash before this re-publishes the failure rather than losing it.
        self.store.command_record(command.id)
        self.metrics.commands_failed.labels(router, command.type).inc()


def _envelope(delivery: Delivery) -> Envelope:
    if delivery.envelope is None:
        raise ValueError(f"delivery {delivery.topic}/{delivery.partition}@{delivery.offset} has no envelope")
    return delivery.envelope
