"""Reconnection latency: ``billing.account.settled`` on Kafka → the address out of ``morosos``.

    .venv/bin/python tests/benchmarks/bench_reconnect.py [--clients 50] [--routers 2]

Target (design §5): p95 under 2 s on one machine. Sets up ``--clients`` subscribers, each
provisioned and then suspended as overdue (applied on its emulated router), then for one
client at a time publishes ``billing.account.settled`` (acks=all) and polls that router's
address list every millisecond until the entry is gone. The clock starts just before the
publish, so the figure includes the broker, the network consumer, the outbox relay, the
netagent and the router. Prints p50, p95, max and n.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._harness import (
    billing_event,
    fast_producer,
    network_chain,
    percentile,
    print_table,
    seed_services,
    services_applied,
    wait_until,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--routers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="per reconnection, seconds")
    args = parser.parse_args(argv)

    with network_chain("reconnect", routers=args.routers) as chain:
        placed = seed_services(chain, args.clients)
        wait_until("provisioning applied", lambda: services_applied("active") == args.clients, timeout=300)
        producer = fast_producer(chain)
        for client_id in placed:
            topic, key, value = billing_event("billing.account.overdue", client_id)
            producer.send(topic, key=key, value=value)
        producer.flush()
        wait_until(
            "every address in morosos",
            lambda: sum(chain.suspended_count(r) for r in chain.emulators) == args.clients,
            timeout=300,
        )
        wait_until("suspensions applied", lambda: services_applied("suspended") == args.clients, timeout=300)
        print(f"{args.clients} subscribers suspended as overdue; measuring reconnections ...", flush=True)

        latencies: list[float] = []
        for client_id, (router, address) in placed.items():
            topic, key, value = billing_event("billing.account.settled", client_id)
            started = time.perf_counter()
            producer.send(topic, key=key, value=value).get(timeout=10)
            deadline = started + args.timeout
            while chain.is_suspended(router, address):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"client {client_id}: {address} still in morosos on {router}")
                time.sleep(0.001)
            latencies.append(time.perf_counter() - started)
        producer.close()

    p95 = percentile(latencies, 0.95)
    print_table(
        "billing.account.settled → address-list entry removed (seconds)",
        [
            ("n", str(len(latencies))),
            ("p50", f"{percentile(latencies, 0.50):.3f}"),
            ("p95", f"{p95:.3f}"),
            ("max", f"{max(latencies):.3f}"),
            ("mean", f"{statistics.fmean(latencies):.3f}"),
            ("min", f"{min(latencies):.3f}"),
            ("target p95", "< 2.000"),
        ],
    )
    print("PASS" if p95 < 2.0 else "MISS", "(target: p95 under 2 s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
