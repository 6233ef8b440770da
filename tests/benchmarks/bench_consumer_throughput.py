"""Back-office throughput alone: the ``network-billing`` consumer and the outbox relay.

Not the whole chain (``bench_suspend.py`` does that): no netagent and no routers, so the figure
is what the back-office side can do on this machine.

1. Seeds ``--events`` active services (bulk, no outbox rows) on a fresh PostgreSQL database.
2. Publishes one ``billing.account.overdue`` per client to a Tansu broker, then starts
   ``python -m backoffice consume network-billing [--batch-size N]`` and reports events/s from
   the inbox's ``processed_at`` timestamps (first to last), so the process start-up and the
   group join are not in the figure.
3. Relays the 2 x events outbox rows the consumer wrote (one suspend command and one
   ``network.service.changed`` each) with ``relay_once`` in this process until empty, and
   reports messages/s.

    .venv/bin/python tests/benchmarks/bench_consumer_throughput.py [--events 2000] [--batch-size 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _harness import (  # noqa: E402
    PYTHON,
    NetworkChain,
    billing_event,
    fast_producer,
    network_chain,
    print_table,
    wait_until,
)


@dataclass
class BackofficeOnly(NetworkChain):
    """The chain reduced to the broker and the network database: this benchmark spawns the
    process it measures itself, and runs the relay in process."""

    def start(self) -> BackofficeOnly:
        try:
            self.config.var_dir.mkdir(parents=True, exist_ok=True)
            self.start_kafka()
            self.prepare_databases()
        except BaseException:
            self.stop()
            raise
        return self


def seed(count: int) -> None:
    """``count`` active services in sync (revision 1 applied), client ``c`` on router r1."""
    from django.utils import timezone

    from backoffice.network.models import Router, Service, ServiceStatus

    router = Router.objects.create(name="r1", host="127.0.0.1", username="bench", address_pool="10.64.0.0/16")
    now = timezone.now()
    Service.objects.bulk_create(
        [
            Service(
                subscription_id=100_000 + n,
                client_id=n,
                router=router,
                pppoe_username=f"bench{n:06d}",
                pppoe_password="pw",
                address=f"10.64.{(n + 2) // 256}.{(n + 2) % 256}",
                plan_code="hogar-20",
                download="20M",
                upload="5M",
                status=ServiceStatus.ACTIVE,
                revision=1,
                applied_revision=1,
                created_at=now,
            )
            for n in range(1, count + 1)
        ],
        batch_size=1000,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=None, help="consume --batch-size (omit: default)")
    parser.add_argument("--relay-batch", type=int, default=200)
    parser.add_argument("--profile", help="write the consumer's cProfile stats to this file")
    args = parser.parse_args(argv)

    # network_chain() would start the whole chain: swap in the reduced one.
    import _harness as harness

    harness.NetworkChain = BackofficeOnly  # type: ignore[misc]
    with network_chain("throughput", routers=1) as chain:
        from django.conf import settings
        from django.db.models import Max, Min

        from enlace_messaging.django.models import InboxMessage, OutboxMessage
        from enlace_messaging.django.relay import relay_once
        from enlace_messaging.publisher import Publisher

        seed(args.events)
        producer = fast_producer(chain)
        for client_id in range(1, args.events + 1):
            topic, key, value = billing_event("billing.account.overdue", client_id)
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()

        command = [PYTHON, "-m", "backoffice", "consume", "network-billing"]
        if args.profile:
            # The consumer exits cleanly on SIGTERM, so cProfile writes its file.
            command[1:1] = ["-m", "cProfile", "-o", str(Path(args.profile).resolve())]
        if args.batch_size is not None:
            command += ["--batch-size", str(args.batch_size)]
        chain.spawn("consumer", command)
        waited = wait_until(
            "every event consumed",
            lambda: InboxMessage.objects.using("network").count() >= args.events,
            timeout=900,
            interval=0.2,
        )
        chain.stop_process("consumer")
        span = InboxMessage.objects.using("network").aggregate(
            first=Min("processed_at"), last=Max("processed_at")
        )
        consume_s = (span["last"] - span["first"]).total_seconds()
        pending = OutboxMessage.objects.using("network").filter(sent_at=None).count()

        publisher = Publisher(settings.KAFKA_BOOTSTRAP_SERVERS, timeout=10.0)
        started = time.perf_counter()
        relayed = 0
        while published := relay_once(using="network", publisher=publisher, batch_size=args.relay_batch):
            relayed += published
        relay_s = time.perf_counter() - started
        publisher.close()

        print_table(
            f"{args.events} overdue events, consume --batch-size {args.batch_size or 'default'}",
            [
                ("consumer: wall incl. start-up", f"{waited:.1f} s"),
                ("consumer: first→last applied", f"{consume_s:.1f} s"),
                ("consumer: events/s", f"{(args.events - 1) / max(consume_s, 1e-6):.0f}"),
                ("relay: rows", f"{relayed} / {pending}"),
                ("relay: time", f"{relay_s:.1f} s"),
                ("relay: messages/s", f"{relayed / max(relay_s, 1e-6):.0f}"),
            ],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
