"""What the network benchmarks share: the real chain as processes, emulated routers in process.

The chain is the one production runs: a Tansu broker, the network service's outbox relay and
its Kafka consumers (``python -m backoffice relay`` / ``consume``), the netagent
(``python -m netagent``), each its own process as ``scripts/devstack.py`` starts them, on
PostgreSQL databases with a unique prefix. Only the routers differ: they are
``RouterEmulator`` objects inside the benchmark process (still reached by the netagent over TCP
through the RouterOS API), so the benchmark can watch their tables without a network round
trip of its own per check.

The benchmark process also configures Django on the network service's database, to seed
services in bulk and to read how far the service got (``Service.in_sync``).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from netagent.emulator import RouterEmulator  # noqa: E402
from scripts.devstack import (  # noqa: E402
    NETWORK_CONSUMERS,
    PYTHON,
    RouterSpec,
    Stack,
    StackConfig,
    drop_databases,
    free_port,
)

SUSPENSION_LIST = "morosos"
ROUTER_PASSWORD = "bench"


@dataclass
class NetworkChain(Stack):
    """The devstack limited to the network chain, with the routers emulated in this process.

    No portal, no HTTP server, no other service's consumer: they would only take CPU from the
    two cores the figures are about.
    """

    emulators: dict[str, RouterEmulator] = field(default_factory=dict)

    def prepare_databases(self) -> None:
        if self.config.db_engine == "postgres":
            self._create_pg_databases()
        # The network database alone: the chain measured touches no other service's tables.
        self.run_step(
            "migrate network", [PYTHON, "-m", "backoffice", "migrate", "--database", "network", "-v0"]
        )

    def start_routers(self) -> None:
        for spec in self.config.routers:
            # auto_dial: every provisioned CPE is online, so a suspension really kicks a session.
            # No redial timers: 10,000 kicked CPEs would mean 10,000 timer threads here.
            emulator = RouterEmulator(
                identity=spec.name,
                username=spec.username,
                password=spec.password,
                port=spec.port,
                auto_dial=True,
            )
            self.emulators[spec.name] = emulator.start()

    def start_services(self) -> None:
        self.spawn("relay", [PYTHON, "-m", "backoffice", "relay", "--services", "network"])
        for consumer in NETWORK_CONSUMERS:
            self.spawn(consumer, [PYTHON, "-m", "backoffice", "consume", consumer])

    def start(self) -> NetworkChain:
        try:
            self.config.var_dir.mkdir(parents=True, exist_ok=True)
            self.start_kafka()
            self.prepare_databases()
            self.start_routers()
            self.start_services()
            self.start_netagent()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        super().stop()
        for emulator in self.emulators.values():
            emulator.stop()
        self.emulators.clear()

    def suspended_count(self, router: str) -> int:
        """How many addresses ``router`` holds in morosos (read in place, nothing rendered).

        Reads the emulator's table under its lock without formatting rows as ``print`` would,
        because polling 2,500 rendered rows per router every few milliseconds would take CPU
        from the chain being measured.
        """
        state = self.emulators[router].state
        with state.lock:
            # The emulator's index by list: a dict lookup, no scan of the table.
            return len(state._index["/ip/firewall/address-list"]["list"].get(SUSPENSION_LIST, {}))

    def is_suspended(self, router: str, address: str) -> bool:
        """Whether ``address`` is in ``router``'s morosos list now."""
        state = self.emulators[router].state
        with state.lock:
            return any(
                item.props.get("list") == SUSPENSION_LIST
                for item in state._lookup("/ip/firewall/address-list", "address", address)
            )

    @property
    def state_file(self) -> Path:
        """The netagent's SQLite state (where ``start_netagent`` points it)."""
        return self.config.var_dir / "netagent-state.sqlite3"


@contextmanager
def network_chain(name: str, routers: int) -> Iterator[NetworkChain]:
    """Starts the chain on fresh databases ``enlace_bench_<name>_*`` and configures Django on them."""
    prefix = f"enlace_bench_{name}_"
    drop_databases(prefix)
    var_dir = ROOT / "var" / "bench" / f"{name}-{uuid.uuid4().hex[:8]}"
    config = StackConfig(
        var_dir=var_dir,
        db_engine="postgres",
        pg_prefix=prefix,
        redis_url="redis://127.0.0.1:6379/8",
        backoffice_port=free_port(),
        portal_port=free_port(),
        kafka_port=free_port(),
        routers=[RouterSpec(name=f"r{i + 1}", password=ROUTER_PASSWORD) for i in range(routers)],
        demo_data=False,
        # DEBUG off as in production: with it on, Django keeps every query in memory.
        extra_env={"ENLACE_SERVICES": "network", "ENLACE_LOG_LEVEL": "WARNING", "ENLACE_DEBUG": "false"},
    )
    chain = NetworkChain(config)
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


def _setup_django(chain: NetworkChain) -> None:
    for key, value in chain.env().items():
        if key.startswith(("ENLACE_", "PYTHON")):
            os.environ[key] = value
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    import django

    django.setup()


def _routers_create(chain: NetworkChain) -> list[Any]:
    from backoffice.network.services import router_create

    return [
        router_create(
            name=spec.name,
            host="127.0.0.1",
            api_port=spec.port,
            username=spec.username,
            password=spec.password,
            address_pool=f"10.{64 + index}.0.0/16",
        )
        for index, spec in enumerate(chain.config.routers)
    ]


def _placement(n: int, routers: int) -> tuple[int, str]:
    """Router index and address of the ``n``-th service (round-robin, .0.2 upwards)."""
    slot = n // routers + 2  # .0.0 is the network, .0.1 the gateway
    return n % routers, f"10.{64 + n % routers}.{slot // 256}.{slot % 256}"


def seed_applied(chain: NetworkChain, count: int, *, first_client: int = 1) -> dict[int, tuple[str, str]]:
    """Seeds ``count`` services as if provisioned long ago, without running the chain.

    The starting state of an overdue run is thousands of active subscribers; provisioning them
    through the chain is not what is measured and took over 11 minutes for 10,000. Instead,
    the three places that hold that state get it directly, exactly as the chain would have
    left it:

    - the network database: ``Service`` rows at revision 1, applied, status active, last
      result ok (``bulk_create``; no outbox row, no command log: nothing is to be sent);
    - each emulated router: the PPP secret and the simple queue the netagent would have
      created, and the CPE online (``auto_dial``), through the emulator's own ``add``, which
      validates as the API does;
    - the netagent's state file: revision 1 of each subscription applied, with the desired
      state the network service sent (``desired_state_data``), so revision 2 (the suspension)
      is applied as a normal transition (a kick), as on a site that has been running for a
      while. An empty state would instead make the agent treat every suspension as the first
      command it sees for the subscriber; that is a fresh install's first day, not an overdue
      run's, and it would skip nothing (it kicks too), so it is not the interesting case.

    Returns ``client_id → (router, address)``; client ``c`` has subscription ``100000 + c``.
    """
    from django.utils import timezone

    from backoffice.network.commands import desired_state_data
    from backoffice.network.models import ResultStatus, Service, ServiceStatus
    from netagent.apply import ApplySettings, DesiredService, comment_for, queue_name, rate_bps
    from netagent.state import StateStore

    routers = _routers_create(chain)
    now = timezone.now()
    services: list[Service] = []
    placed: dict[int, tuple[str, str]] = {}
    for n in range(count):
        client_id = first_client + n
        index, address = _placement(n, len(routers))
        services.append(
            Service(
                subscription_id=100_000 + client_id,
                client_id=client_id,
                router=routers[index],
                pppoe_username=f"bench{client_id:06d}",
                pppoe_password=f"pw-{client_id}",
                address=address,
                plan_code="hogar-20",
                download="20M",
                upload="5M",
                status=ServiceStatus.ACTIVE,
                revision=1,
                applied_revision=1,
                last_result=ResultStatus.OK,
                last_result_at=now,
                online=True,
            )
        )
        placed[client_id] = (routers[index].name, address)
    Service.objects.bulk_create(services, batch_size=2000)

    settings = ApplySettings(suspension_list=SUSPENSION_LIST)
    applied: list[tuple[DesiredService, str]] = []
    for service in services:
        desired = DesiredService.from_data(desired_state_data(service))
        applied.append((desired, str(uuid.uuid4())))
        state = chain.emulators[desired.router].state
        comment = comment_for(settings, desired.subscription_id)
        # What netagent.apply.service_apply creates for an active subscriber in queue mode.
        state.add(
            "/ppp/secret",
            name=desired.username,
            password=desired.password,
            profile=desired.profile or "default",
            remote_address=desired.address,
            service="pppoe",
            disabled="false",
            comment=comment,
        )
        state.add(
            "/queue/simple",
            name=queue_name(settings, desired.username),
            target=desired.address,
            max_limit=f"{rate_bps(desired.upload)}/{rate_bps(desired.download)}",
            disabled="false",
            comment=comment,
        )
    store = StateStore(str(chain.state_file))
    try:
        store.services_record(applied)
    finally:
        store.close()
    return placed


def seed_services(chain: NetworkChain, count: int, *, first_client: int = 1) -> dict[int, tuple[str, str]]:
    """Registers the routers and creates ``count`` services round-robin across them.

    Each goes through the network service's own ``service_create`` (so each writes its
    provisioning command to the outbox, as in production), with an explicit address, so the
    seeding does not scan the pool per service. Returns ``client_id → (router, address)``;
    client ``c`` has subscription ``100000 + c``.
    """
    from django.utils import timezone

    from backoffice.network.services import service_create

    routers = _routers_create(chain)
    placed: dict[int, tuple[str, str]] = {}
    now = timezone.now()
    for n in range(count):
        client_id = first_client + n
        index, address = _placement(n, len(routers))
        router = routers[index]
        service_create(
            subscription_id=100_000 + client_id,
            client_id=client_id,
            router=router,
            pppoe_username=f"bench{client_id:06d}",
            pppoe_password=f"pw-{client_id}",
            address=address,
            plan_code="hogar-20",
            download="20M",
            upload="5M",
            now=now,
        )
        placed[client_id] = (router.name, address)
    return placed


def services_applied(status: str) -> int:
    """How many services have ``status`` and their latest revision applied on the router."""
    from django.db.models import F

    from backoffice.network.models import Service

    return Service.objects.filter(status=status, applied_revision=F("revision")).count()


def wait_until(what: str, done: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> float:
    """Polls ``done`` until true; returns the seconds it took. Raises TimeoutError with ``what``."""
    started = time.perf_counter()
    deadline = started + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(interval)
    return time.perf_counter() - started


def fast_producer(chain: NetworkChain) -> Any:
    """A Kafka producer that pipelines, for publishing a burst of events as billing's relay
    would deliver them; the measured chain starts where those events are on the topic."""
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=chain.kafka_bootstrap, acks="all", linger_ms=5)


def billing_event(type_: str, client_id: int) -> tuple[str, bytes, bytes]:
    """(topic, key, value) of a ``billing.account.*`` event for ``client_id``."""
    from enlace_messaging import catalog
    from enlace_messaging.envelope import Envelope

    envelope = Envelope.new(type=type_, data={"client_id": client_id}, source="billing")
    return catalog.BILLING_EVENTS, str(client_id).encode(), envelope.to_json()


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile by the nearest-rank method (no interpolation between runs)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def print_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    """Prints ``rows`` as a two-column table under ``title``."""
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 16))
    for label, value in rows:
        print(f"{label:<{width}}  {value:>12}")
    print("-" * (width + 16), flush=True)


__all__ = [
    "NetworkChain",
    "billing_event",
    "fast_producer",
    "network_chain",
    "percentile",
    "print_table",
    "seed_applied",
    "seed_services",
    "services_applied",
    "statistics",
    "wait_until",
]
