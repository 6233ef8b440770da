"""Contracts rendered by a real Celery worker process: text, image, versions, immutability."""

from __future__ import annotations

import hashlib
import io
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader

from backoffice.clients import services
from backoffice.clients.models import ContractDocument, RouterPool
from tests.backoffice.clients.conftest import cedula
from tests.fixtures.celery_worker import celery_worker

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "clients"])


@pytest.fixture(scope="module")
def worker(
    django_db_setup: None, django_db_blocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    with django_db_blocker.unblock(), celery_worker(log):
        yield log


def _wait_for_versions(
    subscription_id: int, count: int, log: Path, timeout: float = 90
) -> list[ContractDocument]:
    """The subscription's contract documents once ``count`` versions exist (the worker's work)."""
    deadline = time.monotonic() + timeout
    while True:
        documents = list(
            ContractDocument.objects.filter(subscription_id=subscription_id).order_by("version", "language")
        )
        if len({d.version for d in documents}) >= count:
            return documents
        if time.monotonic() > deadline:
            pytest.fail(
                f"no contract version {count} rendered; worker log:\n{log.read_text(errors='replace')}"
            )
        time.sleep(0.2)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _register(now):
    RouterPool.objects.create(router="torre-norte", network="10.20.0.0/24")
    plan = services.plan_create(
        code="hogar-20", name="Hogar 20", download="20M", upload="5M", monthly_price=Decimal("25.00"), now=now
    )
    client = services.client_create(
        name="Rosa Guamán Pillajo",
        identification_type="cedula",
        identification=cedula("060123456"),
        email="rosa@example.ec",
        address="Calle Larga 7-12",
        city="Riobamba",
        now=now,
    )
    subscription = services.subscription_create(
        client=client, plan=plan, router="torre-norte", billing_day=10, start_date=date(2025, 3, 10), now=now
    )
    return client, subscription


def test_registering_a_subscription_renders_its_contract_in_both_languages(worker, tmp_path):
    client, subscription = _register(timezone.now())

    documents = _wait_for_versions(subscription.pk, 1, worker)

    assert sorted(d.language for d in documents) == ["en", "es"]
    spanish = next(d for d in documents if d.language == "es")
    pdf = bytes(spanish.pdf)
    assert spanish.sha256 == hashlib.sha256(pdf).hexdigest()
    text = _text(pdf)
    for shown in (
        "Rosa Guamán Pillajo",
        client.identification,
        "Hogar 20",
        "25.00",
        "28.75",
        "Calle Larga 7-12",
    ):
        assert shown in text
    assert "Velocidad" in text
    assert "Speed" in _text(bytes(next(d for d in documents if d.language == "en").pdf))
    # Page 1 as an image is not blank.
    (tmp_path / "contract.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-f",
            "1",
            "-l",
            "1",
            "-r",
            "40",
            "-gray",
            str(tmp_path / "contract.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    [image] = list(tmp_path.glob("page*.pgm"))
    from PIL import Image

    histogram = Image.open(image).histogram()  # grey levels 0 (black) to 255 (white)
    dark = sum(histogram[:128])
    assert dark > sum(histogram) * 0.005, "page 1 is blank"


def test_a_plan_change_renders_a_new_version_and_leaves_the_old_one_as_it_was(worker):
    now = timezone.now()
    _client, subscription = _register(now)
    [first_en, first_es] = _wait_for_versions(subscription.pk, 1, worker)
    pyme = services.plan_create(
        code="pyme-100",
        name="Pyme 100",
        download="100M",
        upload="20M",
        monthly_price=Decimal("80.00"),
        now=now,
    )

    services.subscription_change_plan(subscription=subscription, plan=pyme, now=now)
    documents = _wait_for_versions(subscription.pk, 2, worker)

    second = [d for d in documents if d.version == 2]
    assert len(second) == 2
    assert "Pyme 100" in _text(bytes(next(d for d in second if d.language == "es").pdf))
    for before in (first_en, first_es):
        now_stored = ContractDocument.objects.get(pk=before.pk)
        assert bytes(now_stored.pdf) == bytes(before.pdf)
        assert hashlib.sha256(bytes(now_stored.pdf)).hexdigest() == before.sha256 == now_stored.sha256
    assert "Hogar 20" in _text(bytes(first_es.pdf))


def test_a_change_the_contract_does_not_show_renders_no_new_version(worker):
    now = timezone.now()
    client, subscription = _register(now)
    _wait_for_versions(subscription.pk, 1, worker)

    services.client_update(client=client, language="en", now=now)
    services.client_update(client=client, address="Av. Daniel León Borja 30-15", now=now)
    documents = _wait_for_versions(subscription.pk, 2, worker)

    # The language is not shown in the contract: only the address change made a version.
    assert sorted({d.version for d in documents}) == [1, 2]
    assert "Daniel León Borja" in _text(bytes(documents[-1].pdf))
