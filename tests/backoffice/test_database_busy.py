"""Embedded mode (SQLite): a request that finds the database locked past its busy timeout is a
503 with ``Retry-After`` and a JSON error, never a 500 (shorter locks are waited for: see
tests/e2e/test_embedded_concurrent_writes.py).

The back-office runs in a subprocess on SQLite files in a temp dir (the suite itself runs on
PostgreSQL); the test holds the identity database's write lock as another process would.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A failed sign-in writes an audit row to identity's database, on the path of a real request.
SIGN_IN = """
import json, django
django.setup()
from django.test import Client
response = Client().post(
    "/api/identity/v1/token",
    {"email": "nobody@example.ec", "password": "not the password"},
    content_type="application/json",
)
print(json.dumps({"status": response.status_code, "retry_after": response.get("Retry-After"),
                  "body": response.content.decode()}))
"""


@pytest.fixture(scope="module")
def embedded_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var_dir = tmp_path_factory.mktemp("embedded")
    migrate = subprocess.run(
        [sys.executable, "-m", "backoffice", "migrate", "--database", "default", "-v0"],
        cwd=ROOT,
        env=_env(var_dir),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stderr
    return var_dir


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENLACE_", "DJANGO_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "ENLACE_DB_ENGINE": "sqlite",
            "ENLACE_VAR_DIR": str(var_dir),
            "ENLACE_SQLITE_TIMEOUT_SECONDS": "1",
        }
    )
    return env


@contextmanager
def write_lock_held(database: Path) -> Iterator[sqlite3.Connection]:
    """Holds ``database``'s write lock (another process's long write) until the block ends."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def _audit_rows(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM identity_auditevent").fetchone()[0])


def _sign_in(var_dir: Path) -> dict[str, object]:
    process = subprocess.Popen(
        [sys.executable, "-c", SIGN_IN],
        cwd=ROOT,
        env=_env(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_a_write_that_finds_the_database_locked_past_the_timeout_answers_503(embedded_var_dir: Path) -> None:
    database = embedded_var_dir / "identity.sqlite3"
    rows_before = _audit_rows(database)

    with write_lock_held(database):
        answer = _sign_in(embedded_var_dir)

    assert answer["status"] == 503
    assert answer["retry_after"] == "5"
    body = json.loads(str(answer["body"]))
    assert body["error"] == "database_busy"
    assert body["detail"] == "El servicio está ocupado. Inténtalo de nuevo en unos segundos."
    # Nothing of the refused request was written.
    assert _audit_rows(database) == rows_before
