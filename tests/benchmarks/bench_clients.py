"""Clients service: registering subscribers through the service layer, and rendering contracts
with real Celery workers.

    .venv/bin/python tests/benchmarks/bench_clients.py [--clients 10000] [--contracts 1000]
        [--workers 2] [--routers 8] [--timeout 900]

Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``, trust) and Redis at
``ENLACE_TEST_REDIS`` (default 127.0.0.1:6379; db 11 is the Celery broker and is emptied).
Creates its own database ``enlace_bench_clients_<tag>_<id>_clients`` (dropped afterwards).

Measured, one after the other:

1. **Registration**: ``--clients`` times ``client_create`` then ``subscription_create`` (the
   functions staff and the API call): each validates the identification's check digits,
   checks it is free, allocates the PPPoE user and the next free address of the router's pool,
   writes the ``clients.client.created`` / ``clients.subscription.created`` /
   ``clients.client.updated`` outbox rows and, on commit, queues the contract render on the
   broker. Cédulas (and a RUC for every 20th client, a company) are generated here by the
   check-digit rules, independently of the validator they go through.
   Same-run reference: a PostgreSQL ``COPY`` of the rows the registration wrote (clients and
   subscriptions; and everything, outbox included) into empty twins of their tables (same
   columns, indexes and constraints), median of three.
2. **Contracts**: the renders queued during registration are purged (there is one per
   subscription; the benchmark renders ``--contracts`` of them), ``--workers`` separate
   ``celery -A backoffice worker --concurrency 1`` processes are started and, once they are
   ready, ``contract_render`` is queued for ``--contracts`` subscriptions through
   ``tasks.contracts_render_queue``; timed until every contract version is in the database (a
   version is a Spanish and an English PDF, both rendered by WeasyPrint).

Prints clients/s, contracts/s, the average PDF size, the reference and its ratio, and the load
average before and after each part.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.devstack import _pg_admin, drop_databases  # noqa: E402

PLANS = [
    ("hogar-10", "Hogar 10", "10M", "3M", Decimal("18.00")),
    ("hogar-20", "Hogar 20", "20M", "5M", Decimal("25.00")),
    ("hogar-50", "Hogar 50", "50M", "10M", Decimal("35.00")),
    ("pyme-100", "Pyme 100", "100M", "20M", Decimal("79.90")),
]
BROKER_DB = 11
FIRST_NAMES = ["María", "José", "Luis", "Ana", "Carlos", "Rosa", "Jorge", "Lucía", "Diego", "Elena"]
LAST_NAMES = ["Andrade", "Cevallos", "Guamán", "Pazmiño", "Quishpe", "Salazar", "Torres", "Vásconez"]
CITIES = ["Quito", "Guayaquil", "Cuenca", "Ambato", "Loja", "Manta"]


# --- identification numbers, by the rules (not by the validator they are checked with) -----------


def cedula(n: int) -> str:
    """The ``n``-th valid cédula (n < 24 * 6,000,000): province 01-24, third digit 0-5, then
    the modulo 10 check digit (coefficients 2,1,2,1,...; products over 9 lose 9)."""
    province = 1 + n % 24
    serial = n // 24  # < 6,000,000, so its first digit (the cédula's third) is below 6
    nine = f"{province:02d}{serial:07d}"
    total = sum((p - 9 if p > 9 else p) for p in (int(d) * (2 - i % 2) for i, d in enumerate(nine)))
    return nine + str((10 - total % 10) % 10)


def company_ruc(n: int) -> str:
    """A valid private company RUC: province, 9, six digits, the modulo 11 check digit
    (weights 4,3,2,7,6,5,4,3,2), establishment 001. Serials whose check would be 10 are
    skipped (no such RUC exists)."""
    serial = n * 7
    while True:
        nine = f"{1 + n % 24:02d}9{serial % 1_000_000:06d}"
        remainder = sum(int(d) * w for d, w in zip(nine, (4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        check = 0 if remainder == 0 else 11 - remainder
        if check != 10:
            return f"{nine}{check}001"
        serial += 1


# --- the run ------------------------------------------------------------------------------------------


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def register(count: int, routers: int) -> tuple[float, list[int]]:
    """Registers ``count`` clients with one subscription each; returns (seconds, subscription ids)."""
    from backoffice.clients import services
    from backoffice.clients.identification import CEDULA, RUC
    from backoffice.clients.models import ClientKind

    now = datetime.now(UTC)
    plans = [
        services.plan_create(
            code=code,
            name=name,
            download=down,
            upload=up,
            monthly_price=price,
            now=now,
            installation_fee=Decimal("30"),
        )
        for code, name, down, up, price in PLANS
    ]
    for index in range(routers):
        services.router_pool_set(router=f"r{index + 1}", network=f"10.{64 + index}.0.0/16")
    subscription_ids: list[int] = []
    started = time.perf_counter()
    for n in range(count):
        company = n % 20 == 19
        name = (
            f"Comercial {LAST_NAMES[n % len(LAST_NAMES)]} {n} S.A."
            if company
            else f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // 10) % len(LAST_NAMES)]} {n}"
        )
        client = services.client_create(
            name=name,
            kind=ClientKind.COMPANY if company else ClientKind.PERSON,
            identification_type=RUC if company else CEDULA,
            identification=company_ruc(n) if company else cedula(n),
            email=f"abonado{n}@example.ec",
            phone=f"09{n:08d}",
            address=f"Calle {n % 300} y Av. {n % 40}",
            city=CITIES[n % len(CITIES)],
            language="en" if n % 10 == 0 else "es",
            now=now,
        )
        subscription = services.subscription_create(
            client=client,
            plan=plans[n % len(plans)],
            router=f"r{n % routers + 1}",
            billing_day=1 + n % 28,
            start_date=date(2025, 3, 1),
            now=now,
        )
        subscription_ids.append(subscription.pk)
        if (n + 1) % 1000 == 0:
            elapsed = time.perf_counter() - started
            print(f"  {n + 1:,} clients in {elapsed:.1f} s ({(n + 1) / elapsed:.0f}/s)", flush=True)
    return time.perf_counter() - started, subscription_ids


def copy_reference(tables: list[str], repeat: int = 3) -> tuple[list[float], int]:
    """Seconds to COPY the rows now in ``tables`` into empty twins of them (same columns,
    indexes and constraints), ``repeat`` times (the twins emptied in between); and the row count."""
    from django.db import connections, transaction

    connection = connections["clients"]
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
        with transaction.atomic(using="clients"), connection.cursor() as cursor:
            for table in tables:
                exported[table].seek(0)
                cursor.copy_expert(f"COPY bench_{table} FROM STDIN WITH (FORMAT csv)", exported[table])
        times.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DROP TABLE bench_{table}")
    return times, rows


def start_workers(
    count: int, log_dir: Path, timeout: float = 120
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """Starts ``count`` worker processes (each ``--concurrency 1``) and waits until all are ready."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = []
    for index in range(count):
        log_path = log_dir / f"worker-{index + 1}.log"
        log = open(log_path, "wb")  # noqa: SIM115 (owned by the child)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backoffice",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "-n",
                f"bench{index + 1}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        workers.append((process, log_path))
    deadline = time.monotonic() + timeout
    for process, log_path in workers:
        while b" ready." not in log_path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                stop_workers(workers)
                raise RuntimeError(f"a Celery worker did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
    return workers


def stop_workers(workers: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    for process, _log in workers:
        if process.poll() is None:
            process.terminate()
    for process, _log in workers:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def render(subscription_ids: list[int], workers: int, log_dir: Path, timeout: float) -> tuple[float, int]:
    """Renders the contracts of ``subscription_ids`` with ``workers`` worker processes; returns
    (seconds from queueing the first to the last version stored, PDFs stored)."""
    import redis
    from django.conf import settings

    from backoffice.clients import tasks
    from backoffice.clients.models import ContractDocument

    processes = start_workers(workers, log_dir)
    try:
        started = time.perf_counter()
        tasks.contracts_render_queue(subscription_ids)
        wanted = 2 * len(subscription_ids)  # a Spanish and an English PDF per version
        deadline = started + timeout
        last_report = started
        while (done := ContractDocument.objects.count()) < wanted:
            now = time.perf_counter()
            if now > deadline:
                raise TimeoutError(f"{done // 2} of {len(subscription_ids)} contracts within {timeout:.0f}s")
            if now - last_report >= 10:
                print(f"  {done // 2:,} contracts in {now - started:.0f} s", flush=True)
                last_report = now
            for process, log_path in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a worker exited:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        seconds = time.perf_counter() - started
    finally:
        stop_workers(processes)
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    return seconds, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--contracts", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--routers", type=int, default=8, help="routers (address pools) to spread over")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed for the renders")
    args = parser.parse_args()
    if args.contracts > args.clients:
        parser.error("--contracts cannot exceed --clients")

    run_id = uuid.uuid4().hex[:8]
    tag = os.environ.get("ENLACE_TEST_TAG", "")
    prefix = f"enlace_bench_clients_{tag + '_' if tag else ''}{run_id}_"
    redis_at = os.environ.get("ENLACE_TEST_REDIS", "127.0.0.1:6379")
    log_dir = ROOT / "var" / "bench" / f"clients-{run_id}"
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        ENLACE_DB_ENGINE="postgres",
        ENLACE_PG_DB_PREFIX=prefix,
        ENLACE_DEBUG="0",
        ENLACE_SERVICES="clients",
        ENLACE_LOG_LEVEL="WARNING",
        ENLACE_CELERY_BROKER_URL=f"redis://{redis_at}/{BROKER_DB}",
        ENLACE_CELERY_QUEUE=f"bench-clients-{run_id}",
    )
    with _pg_admin() as cursor:
        cursor.execute(f'CREATE DATABASE "{prefix}clients"')
    try:
        import django

        django.setup()
        import redis
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connections

        from backoffice.clients.models import Client, ContractDocument, Subscription
        from enlace_messaging.django.models import OutboxMessage

        call_command("migrate", database="clients", verbosity=0)
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        broker.flushdb()
        print(f"{os.cpu_count()} cores; database {prefix}clients; broker {settings.CELERY_BROKER_URL}")

        load_before = load()
        print(
            f"registering {args.clients:,} clients with a subscription each (load {load_before}) ...",
            flush=True,
        )
        register_seconds, subscription_ids = register(args.clients, args.routers)
        load_registered = load()
        queued = broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        clients, subscriptions = Client.objects.count(), Subscription.objects.count()
        outbox = OutboxMessage.objects.using("clients").count()
        assert clients == subscriptions == args.clients, (clients, subscriptions)

        tables = [Client._meta.db_table, Subscription._meta.db_table]
        copy_times, copy_rows = copy_reference(tables)
        all_times, all_rows = copy_reference([*tables, OutboxMessage._meta.db_table])
        copy_seconds, all_seconds = statistics.median(copy_times), statistics.median(all_times)

        # The registration queued one render per subscription; this run renders --contracts.
        broker.flushdb()
        step = max(1, args.clients // args.contracts)
        chosen = subscription_ids[::step][: args.contracts]
        load_render_before = load()
        print(
            f"rendering {len(chosen):,} contracts with {args.workers} worker processes "
            f"(load {load_render_before}) ...",
            flush=True,
        )
        render_seconds, pdfs = render(chosen, args.workers, log_dir, args.timeout)
        load_after = load()
        sizes = list(ContractDocument.objects.values_list("size", flat=True))
        by_language = {
            language: statistics.mean(
                ContractDocument.objects.filter(language=language).values_list("size", flat=True)
            )
            for language in ("es", "en")
        }

        print("\nregistration (client_create + subscription_create)")
        print(
            f"  {args.clients:,} clients + subscriptions over {args.routers} routers "
            f"in {register_seconds:.1f} s: {args.clients / register_seconds:.1f} clients/s"
        )
        print(f"  outbox rows written: {outbox:,}; contract renders queued on the broker: {queued:,}")
        print(
            f"  reference: COPY of the same {copy_rows:,} client and subscription rows "
            f"{copy_seconds:.3f} s (median of {', '.join(f'{t:.3f}' for t in copy_times)}): "
            f"ratio {register_seconds / copy_seconds:.0f}x"
        )
        print(
            f"  reference: COPY of everything written ({all_rows:,} rows, outbox included) "
            f"{all_seconds:.3f} s (median of {', '.join(f'{t:.3f}' for t in all_times)}): "
            f"ratio {register_seconds / all_seconds:.0f}x"
        )
        print(f"contracts ({args.workers} Celery worker processes, --concurrency 1 each)")
        print(
            f"  {len(chosen):,} contract versions ({pdfs:,} PDFs, es + en) in {render_seconds:.1f} s: "
            f"{len(chosen) / render_seconds:.2f} contracts/s ({pdfs / render_seconds:.2f} PDFs/s)"
        )
        print(
            f"  average PDF size {statistics.mean(sizes) / 1024:.1f} KiB "
            f"(es {by_language['es'] / 1024:.1f} KiB, en {by_language['en'] / 1024:.1f} KiB)"
        )
        print(
            f"load average (1/5/15 min): before {load_before}, after registration {load_registered}, "
            f"before rendering {load_render_before}, after {load_after}; {os.cpu_count()} cores"
        )
        print(f"worker logs in {log_dir}")
        connections.close_all()
    finally:
        drop_databases(prefix)


if __name__ == "__main__":
    main()
