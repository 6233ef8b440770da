"""Billing run of 100,000 subscriptions against a PostgreSQL ``COPY`` of the same invoice rows.

    .venv/bin/python tests/benchmarks/bench_billing_run.py [--subscriptions 100000] [--chunk-size 10000]

Target (issue 10): the run takes at most 5x the ``COPY``. Set-up (not measured): a fresh
PostgreSQL billing database with ``--subscriptions`` accounts and subscriptions written by
``COPY``: most on one of four plans for the whole month, 5 % with a plan change on the 10th
(two prorated lines), 3 % starting mid-month, 2 % with an installation fee pending.

Measured: ``billing_run`` for March 2025 (it writes the invoices, their lines and one
``billing.invoice.issued`` outbox row each), then the invoice rows it wrote are exported and
``COPY``-ed into an empty table with the same columns, indexes and constraints as
``billing_invoice``. Prints both times, the ratio and the load average.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.devstack import _pg_admin, drop_databases  # noqa: E402

TARGET = 5.0
PLANS = [
    ("hogar-10", "Hogar 10", "18.00"),
    ("hogar-20", "Hogar 20", "25.00"),
    ("hogar-50", "Hogar 50", "35.00"),
    ("pyme-100", "Pyme 100", "79.90"),
]


def _copy_in(cursor, table: str, columns: str, lines: list[str]) -> None:
    cursor.copy_expert(
        f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", io.StringIO("\n".join(lines) + "\n")
    )


def seed(count: int) -> None:
    from django.db import connections, transaction

    with transaction.atomic(using="billing"), connections["billing"].cursor() as cursor:
        _copy_in(
            cursor,
            "billing_billingaccount",
            "client_id, name, identification_type, identification, billing_email, language, overdue, "
            "promise_by, created_at, updated_at",
            [
                f'{n},Cliente {n},cedula,{n:010d},c{n}@example.ec,{"en" if n % 10 == 0 else "es"},f,"",'
                "2025-01-01T00:00:00Z,2025-01-01T00:00:00Z"
                for n in range(1, count + 1)
            ],
        )
        _copy_in(
            cursor,
            "billing_billingsubscription",
            "id, subscription_id, client_id, billing_day, start_date, created_at",
            [
                f"{n},{n},{n},1,{'2025-03-16' if n % 100 < 3 else '2025-01-01'},2025-01-01T00:00:00Z"
                for n in range(1, count + 1)
            ],
        )
        segments = []
        charges = []
        for n in range(1, count + 1):
            code, name, price = PLANS[n % len(PLANS)]
            start = "2025-03-16" if n % 100 < 3 else "2025-01-01"
            segments.append(f"{n},{start},{code},{name},{price},0.1500")
            if 3 <= n % 100 < 8:
                code, name, price = PLANS[(n + 1) % len(PLANS)]
                segments.append(f"{n},2025-03-10,{code},{name},{price},0.1500")
            if 8 <= n % 100 < 10:
                charges.append(f"{n},Instalación,30.00,0.1500,2025-01-01T00:00:00Z")
        _copy_in(
            cursor,
            "billing_plansegment",
            "subscription_id, effective_from, plan_code, plan_name, monthly_price, tax_rate",
            segments,
        )
        _copy_in(
            cursor,
            "billing_pendingcharge",
            "subscription_id, description, amount, tax_rate, created_at",
            charges,
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('billing_billingsubscription', 'id'), %s)", [count]
        )
        cursor.execute("ANALYZE")


def copy_baseline(tables: list[str], repeat: int) -> tuple[list[float], int]:
    """Seconds to COPY the rows the run wrote to ``tables`` into empty twins of them (same
    columns, indexes and constraints), ``repeat`` times (the twins emptied in between)."""
    from django.db import connections, transaction

    connection = connections["billing"]
    exported: dict[str, io.StringIO] = {}
    rows = 0
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS bench_{table} (LIKE {table} INCLUDING ALL)")
            exported[table] = io.StringIO()
            cursor.copy_expert(f"COPY {table} TO STDOUT WITH (FORMAT csv)", exported[table])
            rows += exported[table].getvalue().count("\n")
    times = []
    for _ in range(repeat):
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(f"bench_{table}" for table in tables))
        started = time.perf_counter()
        with transaction.atomic(using="billing"), connection.cursor() as cursor:
            for table in tables:
                exported[table].seek(0)
                cursor.copy_expert(f"COPY bench_{table} FROM STDIN WITH (FORMAT csv)", exported[table])
        times.append(time.perf_counter() - started)
    return times, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="print where the run spends its time")
    args = parser.parse_args()

    prefix = f"bench_billing_{uuid.uuid4().hex[:8]}_"
    os.environ.update(
        ENLACE_DB_ENGINE="postgres", ENLACE_PG_DB_PREFIX=prefix, ENLACE_DEBUG="0", ENLACE_SERVICES="billing"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    with _pg_admin() as cursor:
        cursor.execute(f'CREATE DATABASE "{prefix}billing"')
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        from backoffice.billing import invoicing
        from backoffice.billing.models import Invoice, InvoiceLine

        call_command("migrate", database="billing", verbosity=0)
        started = time.perf_counter()
        seed(args.subscriptions)
        print(
            f"seeded {args.subscriptions:,} subscriptions in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

        march = date(2025, 3, 1)
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = invoicing.billing_run(
            month=march, today=march, now=datetime(2025, 3, 1, 11, tzinfo=UTC), chunk_size=args.chunk_size
        )
        run_seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        lines = InvoiceLine.objects.count()
        assert result.issued == Invoice.objects.count() == args.subscriptions, result
        copy_times, rows = copy_baseline(["billing_invoice"], 3)
        copy_seconds = statistics.median(copy_times)
        all_times, all_rows = copy_baseline(
            ["billing_invoice", "billing_invoiceline", "messaging_outboxmessage"], 3
        )
        load = os.getloadavg()
        print(
            f"billing run: {result.issued:,} invoices, {lines:,} lines, {result.issued:,} outbox rows "
            f"in {run_seconds:.2f} s (chunks of {args.chunk_size:,})"
        )
        print(
            f"COPY of the same {rows:,} invoice rows: {copy_seconds:.2f} s "
            f"(median of {', '.join(f'{t:.2f}' for t in copy_times)})"
        )
        print(
            f"COPY of everything the run wrote ({all_rows:,} rows in 3 tables): "
            f"{statistics.median(all_times):.2f} s (median of {', '.join(f'{t:.2f}' for t in all_times)})"
        )
        ratio = run_seconds / copy_seconds
        print(f"ratio: {ratio:.2f}x (target <= {TARGET:.0f}x) {'MET' if ratio <= TARGET else 'MISSED'}")
        print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
        connections.close_all()
    finally:
        drop_databases(prefix)


if __name__ == "__main__":
    main()
