"""The README's run command brings the whole system up on embedded defaults and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fixtures.kafka import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_run_command_starts_the_system_with_demo_data_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    portal, backoffice, kafka = free_port(), free_port(), free_port()
    routers = f"{free_port()},{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENLACE_", "DJANGO_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "scripts/devstack.py",
            "run",
            "--var-dir",
            str(tmp_path),
            "--portal-port",
            str(portal),
            "--backoffice-port",
            str(backoffice),
            "--kafka-port",
            str(kafka),
            "--router-ports",
            routers,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Logs:"):  # the banner's last line
                break
        banner = "".join(output)
        assert "Enlace is running" in banner, banner
        # The banner lists the URLs and the demo accounts a person needs to start.
        assert f"http://127.0.0.1:{portal}/" in banner
        assert "subscriber@enlace.demo" in banner and "Enlace-Demo-2026" in banner

        assert httpx.get(f"http://127.0.0.1:{portal}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{backoffice}/healthz", timeout=5).status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{backoffice}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        sign_in = httpx.get(f"http://127.0.0.1:{portal}/", timeout=5, follow_redirects=True)
        assert sign_in.status_code == 200
        # Embedded mode keeps its data in the given folder: one SQLite database per service.
        for service in ("identity", "clients", "billing", "network", "support", "portal"):
            assert (tmp_path / f"{service}.sqlite3").exists(), service
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, _ = process.communicate()
    assert process.returncode == 0, "".join(output) + rest
    assert "Stopped." in rest
