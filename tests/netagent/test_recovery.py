"""The netagent process killed or stopped mid-batch: after a restart nothing is lost or applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml

from netagent.agent import Netagent
from netagent.config import NetagentConfig
from netagent.emulator import RouterEmulator
from tests.fixtures.polling import wait_until
from tests.netagent.support import Bus, desired

APPLIED = "network.command.applied"
REPO = Path(__file__).resolve().parents[2]


def write_config(config: NetagentConfig, path: Path) -> Path:
    """The YAML file an operator would write for ``config``."""
    document = {
        "routers": [
            {
                "name": r.name,
                "host": r.host,
                "port": r.port,
                "username": r.username,
                "password": r.password,
                "timeout": r.timeout,
            }
            for r in config.routers
        ],
        "kafka": {
            "bootstrap_servers": list(config.kafka.bootstrap_servers),
            "group_id": config.kafka.group_id,
            "commands_topic": config.kafka.commands_topic,
            "results_topic": config.kafka.results_topic,
            "session_timeout_ms": config.kafka.session_timeout_ms,
            "heartbeat_interval_ms": config.kafka.heartbeat_interval_ms,
            "max_poll_interval_ms": config.kafka.max_poll_interval_ms,
        },
        "state_file": config.state_file,
        "reconcile_interval": 0,
        "metrics_port": 0,
        "retry": {"initial": 0.1, "max": 0.5},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def start_process(config_file: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "netagent", "--config", str(config_file)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )


def secret_adds(router: RouterEmulator) -> Counter[str]:
    """How many times each secret name was added over the API."""
    return Counter(
        word.removeprefix("=name=")
        for sentence in router.received
        if sentence[0] == "/ppp/secret/add"
        for word in sentence
        if word.startswith("=name=")
    )


def test_a_netagent_killed_mid_batch_loses_nothing_and_applies_nothing_twice_after_restart(
    bus: Bus,
    agent_config: NetagentConfig,
    start_agent: Callable[..., Netagent],
    r1: RouterEmulator,
    tmp_path: Path,
) -> None:
    config_file = write_config(agent_config, tmp_path / "netagent.yaml")
    # Slow replies so the kill lands while the batch is being applied.
    r1.set_delay(40)
    process = start_process(config_file, tmp_path / "netagent.log")
    try:
        commands = [bus.send(desired(n)) for n in range(1, 9)]
        wait_until("two applied results", lambda: len(bus.poll_results_of(APPLIED)) >= 2, timeout=40)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    applied_before_kill = {e.data["command_id"] for e in bus.results_of(APPLIED)}
    assert 2 <= len(applied_before_kill) < len(commands), (tmp_path / "netagent.log").read_text()

    r1.set_delay(0)
    start_agent()
    for command in commands:
        bus.result(APPLIED, command_id=command.id, timeout=40)

    assert secret_adds(r1) == {f"cliente{n}": 1 for n in range(1, 9)}
    assert sorted(q["name"] for q in r1.items("/queue/simple")) == sorted(
        f"enlace-cliente{n}" for n in range(1, 9)
    )
    # What the killed agent had finished (and recorded) is not reported again.
    bus.settle(0.5)
    results = Counter(e.data["command_id"] for e in bus.results_of(APPLIED))
    assert all(results[command_id] == 1 for command_id in applied_before_kill)


def test_sigterm_finishes_the_command_in_hand_commits_and_exits_cleanly(
    bus: Bus,
    agent_config: NetagentConfig,
    start_agent: Callable[..., Netagent],
    r1: RouterEmulator,
    tmp_path: Path,
) -> None:
    config_file = write_config(agent_config, tmp_path / "netagent.yaml")
    process = start_process(config_file, tmp_path / "netagent.log")
    try:
        first = [bus.send(desired(n)) for n in (1, 2, 3)]
        for command in first:
            bus.result(APPLIED, command_id=command.id, timeout=40)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, (tmp_path / "netagent.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    start_agent()
    later = bus.send(desired(4))
    bus.result(APPLIED, command_id=later.id, timeout=40)

    bus.settle(0.5)
    results = Counter(e.data["command_id"] for e in bus.results_of(APPLIED))
    assert [results[c.id] for c in first] == [1, 1, 1]
    assert secret_adds(r1) == {"cliente1": 1, "cliente2": 1, "cliente3": 1, "cliente4": 1}
