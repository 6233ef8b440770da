"""Every back-office process answers an unknown URL under /api/ with a JSON 404, not an HTML page.

One real Daphne process per service (``ENLACE_SERVICES=<service>``, as docker-compose runs them)
and one serving all of them (embedded mode), each in development mode, where Django would
otherwise render its HTML debug page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backoffice.databases import SERVICES
from scripts.devstack import free_port, wait_for_http

PROCESSES = [*SERVICES, ",".join(SERVICES)]


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Base URL of a running back-office process for each ENLACE_SERVICES value in PROCESSES."""
    var_dir: Path = tmp_path_factory.mktemp("api-not-found")
    started: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for services in PROCESSES:
            port = free_port()
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "backoffice.settings",
                "ENLACE_ENV": "development",
                "ENLACE_DEBUG": "true",
                "ENLACE_SERVICES": services,
                "ENLACE_VAR_DIR": str(var_dir),
            }
            command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            process = subprocess.Popen(
                [*command, "backoffice.asgi:application"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started[services] = (process, f"http://127.0.0.1:{port}")
        for _process, url in started.values():
            wait_for_http(url + "/healthz", 60)
        yield {services: url for services, (_process, url) in started.items()}
    finally:
        for process, _url in started.values():
            process.terminate()
        for process, _url in started.values():
            process.wait(timeout=30)


def _unknown_paths(served: list[str]) -> list[tuple[str, str]]:
    first = served[0]
    other = next((s for s in SERVICES if s not in served), "nobody")
    return [
        ("GET", f"/api/{first}/v1/no-such-endpoint"),
        ("POST", f"/api/{first}/v1/no-such-endpoint/"),
        ("GET", f"/api/{first}/v2/"),
        ("GET", f"/api/{other}/v1/"),
        ("DELETE", "/api/"),
        ("GET", "/api/network/v1/services/not-a-number/"),
    ]


@pytest.mark.parametrize("services", PROCESSES)
def test_an_unknown_api_url_is_a_json_404_naming_the_path(processes: dict[str, str], services: str) -> None:
    base_url = processes[services]
    for method, path in _unknown_paths(services.split(",")):
        response = httpx.request(method, base_url + path, headers={"Accept-Language": "en"})

        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == "application/json", (method, path)
        assert response.json() == {"error": "not_found", "detail": f"There is no API endpoint at {path}."}


@pytest.mark.parametrize("services", PROCESSES)
def test_the_404_points_at_the_url_with_its_missing_slash(processes: dict[str, str], services: str) -> None:
    served = services.split(",")[0]
    response = httpx.get(processes[services] + f"/api/{served}/v1/schema", headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"There is no API endpoint at /api/{served}/v1/schema. Did you mean /api/{served}/v1/schema/?"
    )


def test_a_known_api_url_is_still_served(processes: dict[str, str]) -> None:
    response = httpx.get(processes["network"] + "/api/network/v1/schema/?format=json")

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Enlace network API"
