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

from enlace_messaging.envelope import Envelope
from netagent.apply import (
    ApplySettings,
    DesiredService,
    ItemCache,
    Router,
    router_reconcile,
    service_apply,
    session_diagnose,
)
from netagent.errors import RouterError
from netagent.metrics import Metrics
from netagent.state import AppliedService, StateStore

logger = logging.getLogger(__name__)

SOURCE = "netagent"

DESIRED = "network.service.desired"
RECONCILE = "network.router.reconcile"
DIAGNOSE = "network.service.diagnose"
APPLIED = "network.command.applied"
FAILED = "network.command.failed"
RECONCILED = "network.router.reconciled"
DIAGNOSED = "network.diagnosis.completed"

#: Seconds after which a router lane's batch is recorded and its results published even if
#: more commands of the batch remain: bounds how long a result waits for its batch-mates.
FLUSH_AFTER = 0.1


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
    #: Set by a batch handler once the delivery is finished (its result published and
    #: recorded), so a lane retrying the batch after a failure acknowledges it and goes on
    #: with the rest instead of applying it again.
    done: bool = False

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

    def publish_many(self, results: Sequence[tuple[Envelope, str]]) -> None:
        """Publishes ``(result, key)`` pairs in order, returning once all are acknowledged;
        raises BrokerUnavailable."""
        ...

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Sends the record untouched to the commands' DLQ with ``reason``; raises BrokerUnavailable."""
        ...


@dataclass
class _Batch:
    """What a router lane's batch applied but has not yet recorded and published."""

    #: (delivery, command, desired, online) applied on the router, in order.
    applied: list[tuple[Delivery, Envelope, DesiredService, bool | None]] = field(default_factory=list)
    #: Stale commands to mark processed with the batch.
    stale: list[tuple[Delivery, Envelope]] = field(default_factory=list)
    #: subscription → the state this batch applied (newer than the state file's until flushed).
    latest: dict[int, AppliedService] = field(default_factory=dict)
    #: ids of the commands in this batch.
    ids: set[str] = field(default_factory=set)
    #: When the batch (or what is pending of it since the last flush) started.
    started: float = field(default_factory=time.monotonic)


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
        flush_after: float = FLUSH_AFTER,
    ) -> None:
        self.store = store
        self.settings = settings
        self.sink = sink
        self.metrics = metrics
        self.remove_unknown = remove_unknown
        #: Per router: the managed items proven as wanted (see ``netagent.apply.ItemCache``).
        #: Each is touched only by its router's lane.
        self.caches: dict[str, ItemCache] = {}
        #: A batch's results are published at the latest this long after it started.
        self.flush_after = flush_after

    def cache(self, router: Router) -> ItemCache:
        """The item cache of ``router`` (created on first use)."""
        cache = self.caches.get(router.name)
        if cache is None:
            cache = self.caches[router.name] = ItemCache()
        return cache

    # ------------------------------------------------------------ desired state

    def desired_apply(self, router: Router, delivery: Delivery) -> None:
        """Applies one ``network.service.desired`` command (see the module doc for the rules):
        a batch of one, so a lone command and a batch follow the very same steps.

        Raises RouterError(permanent=False) or BrokerUnavailable for the caller to retry.
        """
        self.router_batch(router, [delivery])

    def router_batch(self, router: Router, deliveries: Sequence[Delivery]) -> None:
        """Handles a router lane's queued commands in order, with one state commit and one
        results publish per batch instead of per command.

        Each command is applied on the router in turn. Then, for the whole batch: the
        revisions are recorded (one transaction), the results published (all sent, then all
        acknowledgements awaited), the command ids recorded (one transaction),
        and the deliveries marked ``done``. The per-command guarantees hold because the order
        of those steps is the same as for one command (revision before result, command id
        after). A later command of the batch for the same subscription sees the earlier one's
        state (``_Batch.latest``). Before a permanent failure or a reconcile, and when a
        transient error stops the batch, what was applied so far is flushed first, so the
        lane's retry starts at the failed command and never repeats a kick.

        Raises RouterError(permanent=False) or BrokerUnavailable for the lane to retry the
        deliveries not ``done``.
        """
        batch = _Batch()
        try:
            for delivery in deliveries:
                if delivery.done:
                    continue
                assert delivery.envelope is not None
                if delivery.envelope.type == RECONCILE:
                    self._flush(router, batch)
                    self.reconcile(router, delivery)
                    delivery.done = True
                else:
                    self._desired_in_batch(router, delivery, batch)
                    if time.monotonic() - batch.started >= self.flush_after:
                        # A slow router must not hold a batch's results back for long.
                        self._flush(router, batch)
        finally:
            self._flush(router, batch)

    def _desired_in_batch(self, router: Router, delivery: Delivery, batch: _Batch) -> None:
        command = _envelope(delivery)
        desired = DesiredService.from_data(command.data)
        if command.id in batch.ids or self.store.command_processed(command.id):
            logger.info("%s: command %s already processed", router.name, command.id)
            if command.id not in batch.ids:
                delivery.done = True
            else:
                batch.stale.append((delivery, command))  # done with its twin, after the flush
            return
        batch.ids.add(command.id)
        applied = batch.latest.get(desired.subscription_id) or self.store.service_get(desired.subscription_id)
        if applied is not None and desired.revision < applied.revision:
            logger.info(
                "%s: sub %s revision %s is older than the applied %s; ignored",
                router.name,
                desired.subscription_id,
                desired.revision,
                applied.revision,
            )
            self.metrics.commands_stale.labels(router.name).inc()
            batch.stale.append((delivery, command))
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
                cache=self.cache(router),
            )
        except RouterError as exc:
            if not exc.permanent:
                raise
            # Results keep the lane's order: what the batch applied before goes out first.
            self._flush(router, batch)
            self._refuse(
                delivery, exc.message, subscription_id=desired.subscription_id, revision=desired.revision
            )
            delivery.done = True
            return
        self.metrics.apply_seconds.labels(router.name, DESIRED).observe(time.monotonic() - started)
        logger.info(
            "%s: sub %s revision %s %s%s: %s",
            router.name,
            desired.subscription_id,
            desired.revision,
            desired.status,
            " (replay)" if replay else "",
            "; ".join(report.changes) or "no change",
        )
        batch.applied.append((delivery, command, desired, report.online))
        batch.latest[desired.subscription_id] = AppliedService(desired, command.id, "")

    def _flush(self, router: Router, batch: _Batch) -> None:
        """Records, publishes and marks done what ``batch`` holds (see :meth:`router_batch`)."""
        if not batch.applied and not batch.stale:
            return
        if batch.applied:
            self.store.services_record((desired, command.id) for _, command, desired, _ in batch.applied)
            self.sink.publish_many(
                [
                    (
                        command.caused(
                            type=APPLIED,
                            data={
                                "command_id": command.id,
                                "subscription_id": desired.subscription_id,
                                "router": router.name,
                                "revision": desired.revision,
                                "status": desired.status,
                                "online": online,
                            },
                            source=SOURCE,
                        ),
                        router.name,
                    )
                    for _, command, desired, online in batch.applied
                ]
            )
        self.store.commands_record(
            [command.id for _, command, _, _ in batch.applied] + [command.id for _, command in batch.stale]
        )
        for delivery, *_ in batch.applied:
            delivery.done = True
        for delivery, _ in batch.stale:
            delivery.done = True
        self.metrics.commands_applied.labels(router.name, DESIRED).inc(len(batch.applied))
        batch.applied.clear()
        batch.stale.clear()
        batch.latest.clear()
        batch.started = time.monotonic()

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
                cache=self.cache(router),
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
