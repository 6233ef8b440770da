"""Worker threads: one ordered lane per router, plus lanes for diagnoses and refusals.

A lane takes deliveries in order and runs its handler on each until it is done; transient
trouble (``RouterError(permanent=False)``, ``BrokerUnavailable``) is retried with capped
exponential backoff, in place, so nothing behind it overtakes it and nothing is skipped. Only a
finished delivery is acknowledged. On stop, a lane finishes the call in hand and leaves
whatever is still queued (and a delivery still being retried) unacknowledged: Kafka delivers
it again after the restart.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from enlace_messaging.errors import BrokerUnavailable
from netagent.commands import Delivery
from netagent.errors import RouterError
from netagent.metrics import Metrics

logger = logging.getLogger(__name__)

Process = Callable[[Delivery], None]
ProcessBatch = Callable[[list[Delivery]], None]

#: Most deliveries a batch lane hands to its handler at once: big enough that one state commit
#: and one results publish serve many commands in a burst, small enough that a batch's
#: results are not held back long (at ~4 ms a command, 64 is a quarter of a second).
BATCH_MAX = 64


class Lane:
    """A thread running ``process`` on each submitted delivery, one at a time, in order.

    ``on_idle`` runs when nothing was queued for ``idle_every`` seconds since it last ran (a
    periodic reconcile); its failures are logged and it is tried again after ``idle_every``.

    With ``process_batch`` the lane hands it everything queued (up to ``batch_max``) at once;
    the handler marks each delivery ``done`` when finished. On a retryable failure the
    deliveries already ``done`` are acknowledged and only the rest is retried, in order.
    Nothing waits to fill a batch: a lone command is a batch of one.
    """

    def __init__(
        self,
        name: str,
        process: Process,
        *,
        metrics: Metrics,
        retry_initial: float,
        retry_max: float,
        router: str | None = None,
        on_idle: Callable[[], None] | None = None,
        idle_every: float = 0.0,
        on_exit: Callable[[], None] | None = None,
        process_batch: ProcessBatch | None = None,
        batch_max: int = BATCH_MAX,
    ) -> None:
        self.name = name
        self.router = router
        self._process = process
        self._process_batch = process_batch
        self._batch_max = batch_max
        self._metrics = metrics
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._on_idle = on_idle
        self._idle_every = idle_every
        self._on_exit = on_exit
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"netagent-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, delivery: Delivery) -> None:
        self._queue.put(delivery)
        if self.router is not None:
            self._metrics.queue_depth.labels(self.router).set(self._queue.qsize())

    def stop(self) -> None:
        """Asks the lane to stop after the call in hand (non-blocking; see :meth:`join`)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        last_idle_run = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    delivery = self._queue.get(timeout=0.1)
                except queue.Empty:
                    due = time.monotonic() - last_idle_run >= self._idle_every
                    if self._on_idle is not None and self._idle_every > 0 and due:
                        self._idle()
                        last_idle_run = time.monotonic()
                    continue
                if self._process_batch is not None:
                    batch = [delivery]
                    while len(batch) < self._batch_max:
                        try:
                            batch.append(self._queue.get_nowait())
                        except queue.Empty:
                            break
                    if self.router is not None:
                        self._metrics.queue_depth.labels(self.router).set(self._queue.qsize())
                    self._run_batch_until_done(batch)
                    continue
                if self.router is not None:
                    self._metrics.queue_depth.labels(self.router).set(self._queue.qsize())
                if self._run_until_done(delivery):
                    delivery.ack()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _run_until_done(self, delivery: Delivery) -> bool:
        """True once ``process`` finished; False when stopped while it still had to retry."""
        attempt = 0
        while True:
            try:
                self._process(delivery)
            except (RouterError, BrokerUnavailable) as exc:
                attempt += 1
                if isinstance(exc, RouterError) and self.router is not None:
                    self._mark(up=False)
                    self._metrics.router_retries.labels(self.router).inc()
                delay = min(self._retry_initial * 2 ** (attempt - 1), self._retry_max)
                logger.warning(
                    "%s: %s@%s not done (attempt %d), retrying in %.1fs: %s",
                    self.name,
                    delivery.partition,
                    delivery.offset,
                    attempt,
                    delay,
                    exc,
                )
            except Exception:
                # A bug, not the router: keep the order (never skip), make it loud, back off hard.
                attempt += 1
                delay = self._retry_max
                logger.exception(
                    "%s: %s@%s crashed the handler (attempt %d), retrying in %.1fs",
                    self.name,
                    delivery.partition,
                    delivery.offset,
                    attempt,
                    delay,
                )
            else:
                self._mark(up=True)
                return True
            if self._stop.wait(delay):
                return False

    def _run_batch_until_done(self, batch: list[Delivery]) -> None:
        """Runs ``process_batch`` until every delivery is done (acknowledging each as it
        finishes) or the lane is stopped (the rest stays unacknowledged, replayed later)."""
        assert self._process_batch is not None
        remaining = batch
        attempt = 0
        while True:
            failure: BaseException | None = None
            try:
                self._process_batch(remaining)
            except (RouterError, BrokerUnavailable) as exc:
                failure = exc
                attempt += 1
                if isinstance(exc, RouterError) and self.router is not None:
                    self._mark(up=False)
                    self._metrics.router_retries.labels(self.router).inc()
                delay = min(self._retry_initial * 2 ** (attempt - 1), self._retry_max)
            except Exception as exc:
                # A bug, not the router: keep the order (never skip), make it loud, back off hard.
                failure = exc
                attempt += 1
                delay = self._retry_max
                logger.exception("%s: a batch crashed the handler (attempt %d)", self.name, attempt)
            else:
                self._mark(up=True)
            for delivery in remaining:
                if delivery.done:
                    delivery.ack()
            remaining = [delivery for delivery in remaining if not delivery.done]
            if failure is None or not remaining:
                if remaining:
                    # The handler returned without finishing them: a bug; never skip silently.
                    logger.error("%s: batch handler left %d deliveries undone", self.name, len(remaining))
                    failure, attempt, delay = RuntimeError("undone"), attempt + 1, self._retry_max
                else:
                    return
            logger.warning(
                "%s: %s@%s not done (attempt %d), retrying in %.1fs: %s",
                self.name,
                remaining[0].partition,
                remaining[0].offset,
                attempt,
                delay,
                failure,
            )
            if self._stop.wait(delay):
                return

    def _idle(self) -> None:
        assert self._on_idle is not None
        try:
            self._on_idle()
        except (RouterError, BrokerUnavailable) as exc:
            if isinstance(exc, RouterError) and not exc.permanent:
                self._mark(up=False)
            logger.warning(
                "%s: periodic work failed, trying again in %.0fs: %s", self.name, self._idle_every, exc
            )
        except Exception:
            logger.exception("%s: periodic work crashed, trying again in %.0fs", self.name, self._idle_every)
        else:
            self._mark(up=True)

    def _mark(self, *, up: bool) -> None:
        if self.router is not None:
            self._metrics.router_up.labels(self.router).set(1 if up else 0)
