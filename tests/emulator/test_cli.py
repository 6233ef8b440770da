"""The standalone ``python -m netagent.emulator`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from netagent.emulator import ApiClient
from tests.fixtures.polling import free_port


def test_the_standalone_command_serves_a_seeded_router_and_answers_a_login(tmp_path: Path) -> None:
    seed = {
        "profiles": [{"name": "10M", "rate-limit": "10M/10M"}],
        "secrets": [{"name": "cpe1", "password": "x", "profile": "10M", "remote-address": "10.0.0.2"}],
        "queues": [{"name": "cpe1", "target": "10.0.0.2", "max-limit": "10M/10M"}],
        "address_list": [{"list": "suspended", "address": "10.0.0.9"}],
        "connect": True,
    }
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    port = free_port()
    command = [
        sys.executable, "-m", "netagent.emulator", "--host", "127.0.0.1", "--port", str(port),
        "--identity", "r9", "--user", "admin", "--password", "admin",
        "--seed-file", str(seed_file), "--empty-replies",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"127.0.0.1:{port}" in banner
        with ApiClient("127.0.0.1", port) as client:
            assert client.login("admin", "admin") == [["!done"]]
            assert client.talk("/system/identity/print") == [["!re", "=name=r9"], ["!done"]]
            assert client.talk("/ppp/active/print", "=.proplist=name,address") == [
                ["!re", "=name=cpe1", "=address=10.0.0.2"],
                ["!done"],
            ]
            assert client.talk("/queue/simple/print", "=.proplist=max-limit") == [
                ["!re", "=max-limit=10000000/10000000"],
                ["!done"],
            ]
            assert client.talk("/ppp/secret/print", "?name=nobody") == [["!empty"], ["!done"]]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
