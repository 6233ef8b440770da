"""Pay to reconnect: a signed payment webhook received → the address out of ``morosos``.

    .venv/bin/python tests/benchmarks/bench_payment_reconnect.py [--clients 50] [--reference 20]

Target (issue 10): p95 under 1 s over 50 payments, measured from the webhook, not from the
settled event. The chain is production's, each part its own process as ``scripts/devstack.py``
starts them: the back office's HTTP server (Daphne, serving billing's webhook endpoint and the
network API), one outbox relay for billing and network, the network consumers, the netagent,
a Tansu broker, PostgreSQL. The routers are RouterOS emulators inside this process (reached by
the netagent over TCP); Stripe is tests/fakes/stripe_server.py, also here, which billing asks
through the real Stripe SDK to confirm each payment (as it would ask Stripe).

Set-up (not measured): ``--clients + --reference`` subscribers provisioned on their routers
and billed this month by the billing run; dunning run past the grace period declares them all
overdue, and the chain suspends them (every address in ``morosos``). Then:

- measured, one payment at a time: a Stripe Checkout Session for the client's balance is
  created and paid at the fake Stripe; the clock starts, the ``checkout.session.completed``
  webhook signed with Stripe's scheme is POSTed to ``/api/billing/v1/webhooks/stripe``
  (billing verifies it, re-reads the session, records the payment and writes
  ``billing.account.settled`` to its outbox), then the router's address list is polled every
  millisecond until the entry is gone. The webhook's own answer time is reported apart;
- same-run reference: for the ``--reference`` other clients, ``billing.account.settled`` is
  published straight on Kafka (as bench_reconnect.py does) and timed to the router the same
  way: the half of the chain after billing.

Prints p50, p95, max, n for each, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from scripts.devstack import (  # noqa: E402
    NETWORK_CONSUMERS,
    PYTHON,
    RouterSpec,
    StackConfig,
    drop_databases,
    free_port,
    wait_for_http,
)
from tests.benchmarks._harness import (  # noqa: E402
    ROUTER_PASSWORD,
    NetworkChain,
    _setup_django,
    billing_event,
    fast_producer,
    percentile,
    print_table,
    seed_applied,
    services_applied,
    wait_until,
)
from tests.fakes import stripe_server  # noqa: E402
from tests.fakes.stripe_server import StripeServer, sign  # noqa: E402
from tests.fixtures.isolation import pg_prefix, redis_url  # noqa: E402

TARGET = 1.0


@dataclass
class PaymentChain(NetworkChain):
    """The network chain plus billing: its database, its webhook endpoint and its outbox."""

    def prepare_databases(self) -> None:
        self._create_pg_databases()
        for alias in ("default", "network", "billing"):
            self.run_step(
                f"migrate {alias}", [PYTHON, "-m", "backoffice", "migrate", "--database", alias, "-v0"]
            )

    def start_services(self) -> None:
        self.spawn(
            "backoffice",
            [
                PYTHON,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.config.backoffice_port),
                "backoffice.asgi:application",
            ],
        )
        self.spawn("relay", [PYTHON, "-m", "backoffice", "relay", "--services", "billing,network"])
        for consumer in NETWORK_CONSUMERS:
            self.spawn(consumer, [PYTHON, "-m", "backoffice", "consume", consumer])
        wait_for_http(self.backoffice_url + "/healthz", 120)


@contextmanager
def payment_chain(stripe: StripeServer, routers: int) -> Iterator[PaymentChain]:
    prefix = pg_prefix("enlace_bench_payreco_")
    drop_databases(prefix)
    config = StackConfig(
        var_dir=ROOT / "var" / "bench" / f"payreco-{uuid.uuid4().hex[:8]}",
        db_engine="postgres",
        pg_prefix=prefix,
        redis_url=redis_url(10),
        backoffice_port=free_port(),
        portal_port=free_port(),
        kafka_port=free_port(),
        routers=[RouterSpec(name=f"r{i + 1}", password=ROUTER_PASSWORD) for i in range(routers)],
        demo_data=False,
        extra_env={
            "ENLACE_SERVICES": "network,billing",
            "ENLACE_LOG_LEVEL": "WARNING",
            "ENLACE_DEBUG": "false",
            "ENLACE_STRIPE_SECRET_KEY": stripe_server.SECRET_KEY,
            "ENLACE_STRIPE_WEBHOOK_SECRET": stripe_server.WEBHOOK_SECRET,
            "ENLACE_STRIPE_API_BASE": stripe.url,
        },
    )
    chain = PaymentChain(config)
    print(f"starting the chain (logs in {chain.log_dir}) ...", flush=True)
    chain.start()
    try:
        _setup_django(chain)
        yield chain
    finally:
        chain.stop()
        from django.db import connections

        connections.close_all()
        drop_databases(prefix)


def bill_and_declare_overdue(clients: list[int]) -> None:
    """Billing's side of the set-up: each client billed this month, then overdue past grace."""
    from decimal import Decimal

    from django.utils import timezone

    from backoffice.billing import invoicing, services
    from backoffice.billing.dunning import dunning_run
    from backoffice.billing.invoicing import dunning_settings

    now = timezone.now()
    today = timezone.localdate(now)
    plan = services.PlanTerms(
        code="hogar-20", name="Hogar 20", monthly_price=Decimal("25.00"), tax_rate=Decimal("0.15")
    )
    for client_id in clients:
        services.account_upsert(
            client_id=client_id, name=f"Cliente {client_id}", billing_email=f"c{client_id}@example.ec"
        )
        services.subscription_register(
            subscription_id=100_000 + client_id,
            client_id=client_id,
            billing_day=1,
            start_date=today.replace(day=1),
            plan=plan,
            now=now,
        )
    invoicing.billing_run(month=today, today=today, now=now, billing_days=[1])
    config = dunning_settings()
    late = today + timedelta(days=config.due_days + config.grace_days + 1)
    result = dunning_run(today=late, now=now)
    assert result.overdue_accounts == len(clients), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=50, help="payments measured")
    parser.add_argument("--reference", type=int, default=20, help="settled events published directly")
    parser.add_argument("--routers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="per reconnection, seconds")
    args = parser.parse_args(argv)
    total = args.clients + args.reference
    load_before = os.getloadavg()

    stripe = StripeServer().start()
    try:
        with payment_chain(stripe, args.routers) as chain:
            placed = seed_applied(chain, total)
            bill_and_declare_overdue(list(placed))
            wait_until(
                "every address in morosos",
                lambda: sum(chain.suspended_count(r) for r in chain.emulators) == total,
                timeout=300,
            )
            wait_until("suspensions applied", lambda: services_applied("suspended") == total, timeout=300)
            print(f"{total} subscribers suspended as overdue; measuring ...", flush=True)
            paying = list(placed)[: args.clients]
            webhook, reconnect = measure_payments(chain, stripe, paying, placed, args.timeout)
            settled = measure_settled(chain, list(placed)[args.clients :], placed, args.timeout)
    finally:
        stripe.stop()
    load_after = os.getloadavg()

    rows = []
    for title, values in (
        ("webhook POSTed → address-list entry removed", reconnect),
        ("  of which the webhook's answer (payment recorded)", webhook),
        ("reference: settled on Kafka → entry removed", settled),
    ):
        if values:
            rows += [
                (title, ""),
                (
                    "  n / p50 / p95 / max",
                    f"{len(values)} / {percentile(values, 0.5):.3f} / "
                    f"{percentile(values, 0.95):.3f} / {max(values):.3f}",
                ),
                ("  mean", f"{statistics.fmean(values):.3f}"),
            ]
    rows += [
        ("load average before (1/5/15 min)", " ".join(f"{v:.2f}" for v in load_before)),
        ("load average after (1/5/15 min)", " ".join(f"{v:.2f}" for v in load_after)),
        ("cores", str(os.cpu_count())),
    ]
    print_table("Pay to reconnect (seconds)", rows)
    p95 = percentile(reconnect, 0.95)
    print(
        "PASS" if p95 < TARGET else "MISS", f"(target: p95 under {TARGET:.0f} s from the webhook)", flush=True
    )
    return 0


def measure_payments(
    chain: PaymentChain,
    stripe: StripeServer,
    clients: list[int],
    placed: dict[int, tuple[str, str]],
    timeout: float,
) -> tuple[list[float], list[float]]:
    from django.utils import timezone

    from backoffice.billing.payments import checkout_start

    url = f"{chain.backoffice_url}/api/billing/v1/webhooks/stripe"
    answered: list[float] = []
    removed: list[float] = []
    with httpx.Client(timeout=timeout) as http:
        for client_id in clients:
            router, address = placed[client_id]
            checkout = checkout_start(
                client_id=client_id,
                gateway="stripe",
                success_url="https://portal.example.ec/billing/paid",
                cancel_url="https://portal.example.ec/billing",
                now=timezone.now(),
            )
            stripe.pay(checkout.gateway_checkout_id)
            body = stripe.event("checkout.session.completed", checkout.gateway_checkout_id)
            headers = {"Stripe-Signature": sign(body), "Content-Type": "application/json"}
            started = time.perf_counter()
            answer = http.post(url, content=body, headers=headers)
            answered.append(time.perf_counter() - started)
            if answer.status_code != 200 or answer.json().get("result") != "applied":
                raise RuntimeError(f"client {client_id}: webhook answered {answer.status_code} {answer.text}")
            deadline = started + timeout
            while chain.is_suspended(router, address):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"client {client_id}: {address} still in morosos on {router}")
                time.sleep(0.001)
            removed.append(time.perf_counter() - started)
    return answered, removed


def measure_settled(
    chain: PaymentChain, clients: list[int], placed: dict[int, tuple[str, str]], timeout: float
) -> list[float]:
    producer = fast_producer(chain)
    latencies: list[float] = []
    for client_id in clients:
        router, address = placed[client_id]
        topic, key, value = billing_event("billing.account.settled", client_id)
        started = time.perf_counter()
        producer.send(topic, key=key, value=value).get(timeout=10)
        deadline = started + timeout
        while chain.is_suspended(router, address):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"client {client_id}: {address} still in morosos on {router}")
            time.sleep(0.001)
        latencies.append(time.perf_counter() - started)
    producer.close()
    return latencies


if __name__ == "__main__":
    sys.exit(main())
