"""The running netagent: the Kafka consumer, a lane per router, diagnose lanes, metrics.

In-process API (tests, embedding)::

    agent = Netagent(config).start()
    agent.wait_assigned(timeout=30)   # optional: the group has handed us the partitions
    ...
    agent.stop()                      # finishes the command in hand, commits, closes

Threads: ``netagent-kafka`` polls and dispatches; ``netagent-router-<name>`` applies that
router's commands in order over its own API connection, reconciles it periodically and, when
idle, probes it: a router reached again after being lost, or rebooted, is reconciled at once
(``netagent.liveness``);
``netagent-diagnose-<name>`` answers diagnoses over a second connection, so a long queue or a
retrying router lane never delays a diagnosis; ``netagent-refusals`` dead-letters what cannot
be applied anywhere (invalid records, unknown routers or types).
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from backoffice.messaging.envelope import Envelope
from backoffice.messaging.errors import InvalidMessage
from netagent.apply import ApplySettings
from netagent.commands import DESIRED, DIAGNOSE, RECONCILE, CommandHandler, Delivery
from netagent.config import NetagentConfig
from netagent.kafka_io import CommandConsumer, KafkaResults
from netagent.liveness import RouterWatch
from netagent.metrics import Metrics
from netagent.routeros import RouterClient, RouterError
from netagent.state import StateStore
from netagent.workers import Lane

logger = logging.getLogger(__name__)


class Netagent:
    """Applies network commands from Kafka on the configured routers until stopped."""

    def __init__(self, config: NetagentConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.metrics_port: int | None = None
        self._store: StateStore | None = None
        self._results: KafkaResults | None = None
        self._consumer: CommandConsumer | None = None
        self._handler: CommandHandler | None = None
        self._lanes: dict[str, Lane] = {}
        self._diagnose_lanes: dict[str, Lane] = {}
        self._refusals: Lane | None = None
        self._started = False
        self._started_at = 0.0
        self._stopped = threading.Event()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Netagent:
        """Opens the state file and the metrics endpoint, starts every thread; returns self."""
        if self._started:
            raise RuntimeError("this Netagent was already started")
        self._started = True
        self._started_at = time.monotonic()
        cfg = self.config
        self._store = StateStore(cfg.state_file)
        pruned = self._store.commands_prune()
        if pruned:
            logger.info("netagent: forgot %d old processed command ids", pruned)
        if cfg.metrics_port is not None:
            self.metrics_port = self.metrics.serve(cfg.metrics_port, cfg.metrics_address)
        self._results = KafkaResults(cfg.kafka)
        self._handler = CommandHandler(
            store=self._store,
            settings=ApplySettings(
                suspension_list=cfg.suspension_list, tag=cfg.comment_tag, speed_mode=cfg.speed_mode
            ),
            sink=self._results,
            metrics=self.metrics,
            remove_unknown=cfg.reconcile_remove_unknown,
        )
        handler = self._handler
        # The idle lane wakes for the more frequent of the two periodic jobs.
        idle_every = min((s for s in (cfg.probe_interval, cfg.reconcile_interval) if s > 0), default=0.0)
        for router in cfg.routers:
            client = RouterClient(router)
            watch = RouterWatch(client)
            self._lanes[router.name] = Lane(
                f"router-{router.name}",
                functools.partial(self._router_command, watch),
                metrics=self.metrics,
                retry_initial=cfg.retry_initial,
                retry_max=cfg.retry_max,
                router=router.name,
                on_idle=functools.partial(self._idle, watch),
                idle_every=idle_every,
                on_exit=client.close,
                process_batch=functools.partial(self._router_batch, watch),
            )
            diagnose_client = RouterClient(router, timeout=cfg.diagnose_timeout)
            self._diagnose_lanes[router.name] = Lane(
                f"diagnose-{router.name}",
                functools.partial(handler.diagnose, diagnose_client),
                metrics=self.metrics,
                retry_initial=cfg.retry_initial,
                retry_max=cfg.retry_max,
                on_exit=diagnose_client.close,
            )
        self._refusals = Lane(
            "refusals",
            self._refuse,
            metrics=self.metrics,
            retry_initial=cfg.retry_initial,
            retry_max=cfg.retry_max,
        )
        for lane in self._all_lanes():
            lane.start()
        self._consumer = CommandConsumer(
            cfg.kafka, self._dispatch, metrics=self.metrics, max_in_flight=cfg.max_in_flight
        )
        self._consumer.start()
        logger.info("netagent: started for routers %s", ", ".join(r.name for r in cfg.routers))
        return self

    def wait_assigned(self, timeout: float) -> bool:
        """Waits until the consumer group assigned partitions to this agent; False on timeout."""
        return self._consumer is not None and self._consumer.assigned.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Finishes the command in hand on each router, commits what is done, closes everything.

        Queued but unstarted commands stay uncommitted and are delivered again on the next start.
        """
        if not self._started or self._stopped.is_set():
            return
        self._stopped.set()
        if self._consumer is not None:
            self._consumer.stop_polling()
        lanes = self._all_lanes()
        for lane in lanes:
            lane.stop()
        for lane in lanes:
            lane.join(timeout)
        if self._consumer is not None:
            self._consumer.close(timeout)
        if self._results is not None:
            self._results.close()
        if self._store is not None:
            self._store.close()
        self.metrics.close()
        logger.info("netagent: stopped")

    def __enter__(self) -> Netagent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _all_lanes(self) -> list[Lane]:
        extra = [self._refusals] if self._refusals is not None else []
        return [*self._lanes.values(), *self._diagnose_lanes.values(), *extra]

    # ---------------------------------------------------------------- dispatch

    def _dispatch(self, delivery: Delivery) -> None:
        """Parses a record and queues it on the lane that handles it (never blocks)."""
        assert self._refusals is not None
        try:
            delivery.envelope = Envelope.from_json(delivery.value)
        except InvalidMessage as exc:
            self._refuse_later(delivery, exc.reason)
            return
        kind = delivery.envelope.type
        router = delivery.router or ""
        if kind not in (DESIRED, RECONCILE, DIAGNOSE):
            self._refuse_later(delivery, f"the netagent does not handle {kind} messages")
        elif router not in self._lanes and self.config.ignore_unknown_routers:
            delivery.ack()
        elif router not in self._lanes:
            self._refuse_later(delivery, f"router {router!r} is not configured on this netagent")
        elif kind == DIAGNOSE:
            self._diagnose_lanes[router].submit(delivery)
        else:
            self._lanes[router].submit(delivery)

    def _refuse_later(self, delivery: Delivery, reason: str) -> None:
        assert self._refusals is not None
        delivery.problem = reason
        self._refusals.submit(delivery)

    def _refuse(self, delivery: Delivery) -> None:
        assert self._handler is not None
        reason = delivery.problem or "refused"
        if delivery.envelope is None:
            self._handler.invalid(delivery, reason)
        else:
            self._handler.refuse(delivery, reason)

    # ------------------------------------------------------------- router lanes

    def _idle(self, watch: RouterWatch) -> None:
        """An idle router lane's periodic work: the reconcile when due, else a liveness probe;
        a router that may have lost what it held is reconciled at once. Raises RouterError."""
        assert self._handler is not None
        interval = self.config.reconcile_interval
        since = watch.reconciled_at if watch.reconciled_at is not None else self._started_at
        if interval > 0 and time.monotonic() - since >= interval:
            self._handler.reconcile(watch)
            watch.restored()
            return
        if self.config.probe_interval > 0:
            watch.probe()
        self._restore_if_needed(watch)

    def _restore_if_needed(self, watch: RouterWatch) -> None:
        """Reconciles a router reached again after being lost, or rebooted (see
        ``netagent.liveness``), before anything else is applied on it.

        Raises RouterError(permanent=False) for the lane to retry; a permanent refusal is
        logged and not retried (commands must not wait behind it forever).
        """
        if not watch.needs_restore:
            return
        assert self._handler is not None
        logger.warning("%s: reached again after a loss or a reboot; reconciling now", watch.name)
        try:
            self._handler.reconcile(watch)
        except RouterError as exc:
            if not exc.permanent:
                raise
            logger.error("%s: reconcile after reconnection failed for good: %s", watch.name, exc.message)
        watch.restored()

    def _router_batch(self, watch: RouterWatch, deliveries: list[Delivery]) -> None:
        assert self._handler is not None
        self._restore_if_needed(watch)
        self._handler.router_batch(watch, deliveries)

    def _router_command(self, watch: RouterWatch, delivery: Delivery) -> None:
        assert self._handler is not None and delivery.envelope is not None
        self._restore_if_needed(watch)
        if delivery.envelope.type == RECONCILE:
            self._handler.reconcile(watch, delivery)
        else:
            self._handler.desired_apply(watch, delivery)
