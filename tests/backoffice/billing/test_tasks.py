"""Celery: beat's schedule names real tasks, and a real worker process runs the daily billing
task against billing's database (the filesystem broker of embedded mode, in the test's var dir).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from backoffice.billing import invoicing
from backoffice.billing.models import BillingAccount, Invoice
from backoffice.celery import app
from enlace_messaging.django.models import OutboxMessage
from tests.backoffice.billing.conftest import AccountFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "billing"])

ROOT = Path(__file__).resolve().parents[3]


def test_every_task_beat_schedules_is_a_task_the_worker_knows() -> None:
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert scheduled == {"billing.daily", "billing.invoices_email"}
    assert scheduled <= set(app.tasks)


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A backoffice.celery worker`` on the test's databases and var dir."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_backoffice", "PYTHONPATH": str(ROOT)}
    env["ENLACE_VAR_DIR"] = str(settings.VAR_DIR)  # the broker's folders: the same as this process's
    env.pop("ENLACE_CELERY_BROKER_URL", None)
    for alias in ("default", "billing"):
        service = "identity" if alias == "default" else alias
        env[f"ENLACE_{service.upper()}_DB_NAME"] = connections[alias].settings_dict["NAME"]
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backoffice.celery", "worker", "--pool", "solo", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_the_daily_task_on_a_real_worker_bills_today_and_declares_late_payers_overdue(
    worker: subprocess.Popen[bytes],
) -> None:
    today = timezone.localdate()
    # Diego has not paid an invoice issued 40 days ago (due after 10, grace 5): overdue.
    diego = AccountFactory(client_id=4)
    SubscriptionFactory(client_id=diego.client_id, billing_day=1, start_date=date(2020, 1, 1))
    issued = today - timedelta(days=40)
    invoicing.billing_run(month=issued, today=issued, now=timezone.now(), billing_days=[1])
    # Alice is billed on today's day of the month (when there is one: days 1 to 28).
    if today.day <= 28:
        alice = AccountFactory(client_id=1)
        SubscriptionFactory(client_id=alice.client_id, billing_day=today.day, start_date=date(2020, 1, 1))

    app.send_task("billing.daily")

    deadline = time.monotonic() + 90
    while not BillingAccount.objects.get(client_id=4).overdue:
        if time.monotonic() > deadline or worker.poll() is not None:
            worker.kill()
            output = worker.stdout.read().decode() if worker.stdout else ""
            pytest.fail(f"the worker did not run billing.daily within 90 s:\n{output[-3000:]}")
        time.sleep(0.2)
    assert OutboxMessage.objects.using("billing").filter(message_type="billing.account.overdue").count() == 1
    if today.day <= 28:
        assert Invoice.objects.filter(client_id=1, issue_date=today).count() == 1
