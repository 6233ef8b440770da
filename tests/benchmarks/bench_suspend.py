"""Overdue run: 10,000 subscriptions suspended across 4 emulated routers.

    .venv/bin/python tests/benchmarks/bench_suspend.py [--services 10000] [--routers 4]

Target (design §5): under 60 s. Set-up (reported, not the figure): ``--services`` active
services seeded directly where the chain would have left them (network database, routers,
netagent state; see ``_harness.seed_applied``), or with ``--provision-through-chain``
provisioned through the network service's own ``service_create`` and the whole chain, waiting
until every one is applied (slow: over 11 minutes for 10,000). Then publishes one
``billing.account.overdue`` event per client, as billing's relay would deliver an overdue run,
and measures from the first publish until

- every address is in ``morosos`` on its router (the suspension bites), and
- the network service shows every suspension applied (the netagent's results are back).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._harness import (
    billing_event,
    fast_producer,
    network_chain,
    print_table,
    seed_applied,
    seed_services,
    services_applied,
    wait_until,
)

TARGET = 60.0


def stage_timeline(*, since: datetime) -> list[tuple[str, str]]:
    """When each stage of the chain finished the run, from the network database's timestamps:
    the billing consumer wrote the commands, the relay published them, the results came back.
    """
    from django.db.models import Max, Min

    from backoffice.network.models import CommandKind, ServiceCommand
    from enlace_messaging import catalog
    from enlace_messaging.django.models import OutboxMessage

    commands = ServiceCommand.objects.filter(kind=CommandKind.SUSPEND).aggregate(
        first=Min("created_at"), last=Max("created_at"), results=Max("result_at")
    )
    relayed = (
        OutboxMessage.objects.using("network")
        .filter(topic=catalog.NETWORK_COMMANDS, created_at__gte=since)
        .aggregate(last=Max("sent_at"))
    )

    def at(moment: datetime | None) -> str:
        return "-" if moment is None else f"{(moment - since).total_seconds():.1f}"

    return [
        ("first suspend command written (billing consumer)", at(commands["first"])),
        ("last suspend command written (billing consumer)", at(commands["last"])),
        ("last command published (relay)", at(relayed["last"])),
        ("last result recorded (results consumer)", at(commands["results"])),
    ]


def overdue_events(placed: dict[int, tuple[str, str]]) -> list[tuple[str, bytes, bytes]]:
    """One ``billing.account.overdue`` per client: the whole chain is measured."""
    return [billing_event("billing.account.overdue", client_id) for client_id in placed]


def suspend_commands() -> list[tuple[str, bytes, bytes]]:
    """The suspend commands the billing consumer would write, prepared before the clock starts.

    The services are moved to revision 2, suspended, in the database (as the billing consumer
    would, without the outbox) so the results consumer accepts the results; what is measured is
    the commands topic → netagent → routers → results → network database part of the chain.
    """
    from backoffice.network.commands import desired_state_envelope
    from backoffice.network.models import Service, ServiceStatus, SuspensionReason
    from enlace_messaging import catalog

    Service.objects.update(
        revision=2, status=ServiceStatus.SUSPENDED, suspension_reason=SuspensionReason.OVERDUE
    )
    out: list[tuple[str, bytes, bytes]] = []
    for service in Service.objects.select_related("router").order_by("subscription_id"):
        envelope = desired_state_envelope(service)
        out.append((catalog.NETWORK_COMMANDS, service.router.name.encode(), envelope.to_json()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--routers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--provision-through-chain",
        action="store_true",
        help="provision the services through service_create and the chain (the old, slow set-up)",
    )
    parser.add_argument(
        "--from-commands",
        action="store_true",
        help=(
            "measure the netagent side alone: mark the services suspended (revision 2) in the "
            "database and publish their desired-state commands straight to the commands topic, "
            "as the relay would, instead of billing events through the billing consumer"
        ),
    )
    args = parser.parse_args(argv)
    total = args.services

    with network_chain("suspend", routers=args.routers) as chain:

        def on_routers() -> int:
            return sum(chain.suspended_count(r) for r in chain.emulators)

        started = time.perf_counter()
        seed = seed_services if args.provision_through_chain else seed_applied
        placed = seed(chain, total)
        seeded = time.perf_counter() - started
        print(f"{total} services written in {seeded:.1f}s; waiting for the routers ...", flush=True)
        provisioned = seeded + wait_until(
            "provisioning applied",
            lambda: services_applied("active") == total,
            timeout=args.timeout,
            interval=0.5,
        )
        print(f"provisioned and applied in {provisioned:.1f}s; publishing the overdue run ...", flush=True)

        producer = fast_producer(chain)
        messages = suspend_commands() if args.from_commands else overdue_events(placed)
        run_started_at = datetime.now(UTC)
        started = time.perf_counter()
        for topic, key, value in messages:
            producer.send(topic, key=key, value=value)
        producer.flush()
        published = time.perf_counter() - started
        producer.close()
        what = "commands" if args.from_commands else "events"
        print(f"{total} {what} published in {published:.1f}s", flush=True)

        progress: list[tuple[float, int]] = []

        def all_on_routers() -> bool:
            count = on_routers()
            elapsed = time.perf_counter() - started
            if not progress or elapsed - progress[-1][0] >= 10:
                progress.append((elapsed, count))
                print(f"  {elapsed:6.1f}s  {count:>6} addresses in morosos", flush=True)
            return count == total

        wait_until("every address in morosos", all_on_routers, timeout=args.timeout, interval=0.05)
        routers_done = time.perf_counter() - started
        wait_until(
            "every suspension applied",
            lambda: services_applied("suspended") == total,
            timeout=args.timeout,
            interval=0.1,
        )
        applied_done = time.perf_counter() - started
        stages = stage_timeline(since=run_started_at)

    print_table(
        f"Overdue run: {total} subscriptions on {args.routers} emulated routers (seconds)",
        [
            ("set-up: services written (outbox)", f"{seeded:.1f}"),
            ("set-up: provisioned on the routers", f"{provisioned:.1f}"),
            ("overdue events published (from t=0)", f"{published:.1f}"),
            ("all addresses in morosos", f"{routers_done:.1f}"),
            ("all suspensions applied in the API", f"{applied_done:.1f}"),
            ("throughput (routers), per second", f"{total / routers_done:.0f}"),
            ("target", f"< {TARGET:.0f}"),
        ],
    )
    print_table("Where the time went: last of each stage, seconds after the first publish", stages)
    print(
        "PASS" if routers_done < TARGET else "MISS",
        f"(target: under {TARGET:.0f} s on the routers)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
