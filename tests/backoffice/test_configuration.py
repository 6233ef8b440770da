"""Start-up configuration: ENLACE_ENV's allowed values, and demo seeding kept out of production.

Each case runs the real entry point (``python -m backoffice`` / ``python -m portal``) in a
subprocess, as an operator would, with a fresh var dir and none of the test run's settings.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.isolation import redis_url

ROOT = Path(__file__).resolve().parents[2]


def _env(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENLACE_", "DJANGO_"))}
    env.update({"PYTHONPATH": str(ROOT), "ENLACE_DB_ENGINE": "sqlite", "ENLACE_VAR_DIR": str(var_dir)})
    env.update(overrides)
    return env


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# Everything else production requires, so that only the setting under test can stop the process.
PRODUCTION = {
    "ENLACE_ENV": "production",
    "ENLACE_SECRET_KEY": "a-production-secret-for-the-test",
    "ENLACE_ROUTER_SECRET_KEY": "a-production-router-secret-for-the-test",
    "ENLACE_CHATBOT_METADATA_KEY": "a-production-chatbot-metadata-key-for-the-test",
    "ENLACE_PORTAL_SECRET_KEY": "a-production-secret-for-the-test",
    "ENLACE_ALLOWED_HOSTS": "backoffice.example.ec",
    "ENLACE_PORTAL_ALLOWED_HOSTS": "portal.example.ec",
    "ENLACE_REDIS_URL": redis_url(3),
    "ENLACE_CELERY_BROKER_URL": redis_url(3),
}


@pytest.mark.parametrize("project", ["backoffice", "portal"])
@pytest.mark.parametrize("value", ["prod", "Production"])
def test_it_refuses_to_start_with_an_unknown_enlace_env(tmp_path: Path, project: str, value: str) -> None:
    result = _run(project, "check", env=_env(tmp_path, **{**PRODUCTION, "ENLACE_ENV": value}))

    assert result.returncode != 0
    assert f"ENLACE_ENV={value!r}" in result.stderr
    assert "development, production" in result.stderr
    # One line that says what to fix, not a traceback.
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("project", ["backoffice", "portal"])
@pytest.mark.parametrize("environment", [{"ENLACE_ENV": "development"}, PRODUCTION])
def test_it_starts_with_each_allowed_enlace_env(
    tmp_path: Path, project: str, environment: dict[str, str]
) -> None:
    _signing_key_create(tmp_path)

    result = _run(project, "check", env=_env(tmp_path, **environment))

    assert result.returncode == 0, result.stderr


def _signing_key_create(var_dir: Path) -> None:
    """Production refuses to start without identity's signing key: make one, as an operator would."""
    result = _run("backoffice", "rotate_jwt_key", env=_env(var_dir))
    assert result.returncode == 0, result.stderr


def _count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_demo_seeding_refuses_to_run_in_production(tmp_path: Path) -> None:
    development = _env(tmp_path)
    for alias in ("default", "network", "billing"):
        migrate = _run("backoffice", "migrate", "--database", alias, "-v0", env=development)
        assert migrate.returncode == 0, migrate.stderr
    _signing_key_create(tmp_path)
    production = _env(tmp_path, **PRODUCTION)

    users = _run("backoffice", "seed_identity_demo", env=production)
    demo_routers = '[{"name": "r1", "port": 8728}]'
    routers = _run("backoffice", "seed_network_demo", "--routers", demo_routers, env=production)
    billing = _run("backoffice", "seed_billing_history", "--overdue-client", "1", env=production)

    for result in (users, routers, billing):
        assert result.returncode != 0
        assert "refuses to run with ENLACE_ENV=production" in result.stderr
    assert _count(tmp_path / "identity.sqlite3", "identity_user") == 0
    assert _count(tmp_path / "network.sqlite3", "network_router") == 0
    assert _count(tmp_path / "network.sqlite3", "network_service") == 0
    assert _count(tmp_path / "billing.sqlite3", "billing_billingaccount") == 0
    assert _count(tmp_path / "billing.sqlite3", "billing_invoice") == 0


def test_production_refuses_to_start_without_a_celery_broker(tmp_path: Path) -> None:
    _signing_key_create(tmp_path)
    production = {k: v for k, v in PRODUCTION.items() if k != "ENLACE_CELERY_BROKER_URL"}

    result = _run("backoffice", "check", env=_env(tmp_path, **production))

    assert result.returncode != 0
    assert "ENLACE_CELERY_BROKER_URL must be set in production" in result.stderr


def test_demo_seeding_runs_in_development(tmp_path: Path) -> None:
    development = _env(tmp_path)
    migrate = _run("backoffice", "migrate", "--database", "default", "-v0", env=development)
    assert migrate.returncode == 0, migrate.stderr

    users = _run("backoffice", "seed_identity_demo", env=development)

    assert users.returncode == 0, users.stderr
    assert _count(tmp_path / "identity.sqlite3", "identity_user") == 5
