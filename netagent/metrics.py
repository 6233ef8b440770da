"""Prometheus metrics of one netagent, in their own registry (so tests may run several agents)."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Metrics:
    """The netagent's counters and gauges; :meth:`serve` exposes them over HTTP."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands_applied = Counter(
            "netagent_commands_applied_total",
            "Commands applied (or found already applied) on a router.",
            ["router", "type"],
            registry=self.registry,
        )
        self.commands_failed = Counter(
            "netagent_commands_failed_total",
            "Commands that failed for good (reported as failed and dead-lettered).",
            ["router", "type"],
            registry=self.registry,
        )
        self.commands_stale = Counter(
            "netagent_commands_stale_total",
            "Commands ignored because a newer revision was already applied.",
            ["router"],
            registry=self.registry,
        )
        self.commands_invalid = Counter(
            "netagent_commands_invalid_total",
            "Records that were not valid commands (dead-lettered).",
            registry=self.registry,
        )
        self.router_retries = Counter(
            "netagent_router_retries_total",
            "Transient router failures that made a command wait and retry.",
            ["router"],
            registry=self.registry,
        )
        self.apply_seconds = Histogram(
            "netagent_apply_seconds",
            "Time to apply one command on its router (the successful attempt).",
            ["router", "type"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.router_up = Gauge(
            "netagent_router_up",
            "1 when the last operation on the router succeeded, 0 when it could not be reached.",
            ["router"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "netagent_router_queue_depth",
            "Commands waiting for a router's worker.",
            ["router"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "netagent_consumer_lag",
            "Records in a partition not yet committed by the netagent's group.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.repairs = Counter(
            "netagent_reconcile_repairs_total",
            "Drift repaired by reconciles.",
            ["router"],
            registry=self.registry,
        )
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, port: int, address: str = "0.0.0.0") -> int:
        """Starts the HTTP endpoint (port 0: a free one); returns the port it listens on."""
        server, thread = start_http_server(port, addr=address, registry=self.registry)
        self._server, self._thread = server, thread
        return int(server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
