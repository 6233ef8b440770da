"""A new subscriber, registered by staff through the clients API with an e-mail, opens their
portal account with the e-mailed activation code, signs in, sees "Mi plan", and downloads and
accepts their contract.

Runs the real stack of ``scripts/devstack.py`` (Tansu, back-office, relay, identity's clients
consumer, the Celery worker rendering contracts, portal) on PostgreSQL and Redis, and drives
Debian's Chromium through Playwright. The e-mail is read where the stack delivers it (the
file backend under the stack's ``var/mail``), as the subscriber would read their inbox.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.devstack import RouterSpec, Stack
from tests.fixtures.clients_api import ClientsApi
from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.stack import fresh_stack

pytestmark = pytest.mark.browser

PG_PREFIX = pg_prefix("enlace_onboard_e2e_")
REDIS_URL = redis_url(10)
PASSWORD = "Clave-Abonada-Nueva-2026"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CODE = re.compile(r"código de activación:\s*\n\s*(\S+)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A router registered (its pool gives the subscription an address); nothing applies commands.
    with fresh_stack(
        tmp_path_factory.mktemp("onboarding-e2e"),
        pg_prefix=PG_PREFIX,
        redis_url=REDIS_URL,
        routers=[RouterSpec(name="r1")],
        with_netagent=False,
        with_network_consumer=False,
    ) as running:
        yield running


def activation_code(mail_dir: Path, email: str, timeout: float = 60) -> str:
    """Polls the stack's mailbox for the activation e-mail sent to ``email``; returns its code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []:
            text = message.read_text(encoding="utf-8", errors="replace")
            if f"To: {email}" in text and (match := CODE.search(text)):
                return match.group(1)
        time.sleep(0.2)
    pytest.fail(f"no activation e-mail to {email} in {mail_dir} within {timeout:.0f}s")


def test_a_new_subscriber_activates_signs_in_sees_the_plan_and_accepts_the_contract(
    stack: Stack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    email = f"marta-{uuid.uuid4().hex[:8]}@example.ec"
    with ClientsApi(stack.backoffice_url) as api:
        client = api.client_create(name="Marta Quispe", email=email, language="es")
        subscription = api.subscription_create(client_id=client["id"], plan="hogar-50", router="r1")
        code = activation_code(stack.config.var_dir / "mail", email)
        # The Celery worker renders the contract in the background; the page shows what exists.
        documents = api.contracts_rendered(subscription["id"])
    spanish = next(d for d in documents if d["language"] == "es")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="es-EC", accept_downloads=True).new_page()
            page.goto(stack.portal_url + "/activate/")
            page.get_by_label("Correo electrónico").fill(email)
            page.get_by_label("Código de activación").fill(code)
            page.get_by_label("Nueva contraseña", exact=True).fill(PASSWORD)
            page.get_by_label("Repite la nueva contraseña").fill(PASSWORD)
            page.get_by_role("button", name="Activar").click()
            expect(page.get_by_text("Tu cuenta está activa.")).to_be_visible()

            page.get_by_role("link", name="Iniciar sesión", exact=True).click()
            page.get_by_label("Correo electrónico").fill(email)
            page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Iniciar sesión").click()
            expect(page).to_have_url(re.compile(r"/dashboard/$"))
            expect(page.get_by_role("heading", name="Hola, Marta Quispe")).to_be_visible()

            page.get_by_test_id("nav-my-plan").click()
            expect(page.get_by_role("heading", name="Mi plan")).to_be_visible()
            plan = page.get_by_test_id("plan-card")
            expect(plan).to_contain_text("Hogar 50 (hogar-50)")
            expect(plan).to_contain_text("50M de bajada / 10M de subida")
            expect(plan).to_contain_text("USD 40.25 con IVA 15 % (USD 35.00 sin impuestos)")
            expect(plan).to_contain_text("el día 10 de cada mes")

            page.get_by_test_id("nav-my-contract").click()
            expect(page.get_by_role("heading", name="Mi contrato")).to_be_visible()
            with page.expect_download() as download_info:
                page.get_by_test_id("contract-pdf-es").first.click()
            saved = tmp_path / "contrato.pdf"
            download_info.value.save_as(saved)
            content = saved.read_bytes()
            assert content.startswith(b"%PDF")
            assert hashlib.sha256(content).hexdigest() == spanish["sha256"]

            page.get_by_role("button", name="He leído y acepto este contrato").click()
            expect(page.get_by_text("Aceptaste la versión 1 de tu contrato.")).to_be_visible()
            expect(page.get_by_test_id("contract-accepted")).to_contain_text("Aceptado el")
            expect(page.get_by_test_id("contract-accept")).to_have_count(0)
        finally:
            browser.close()

    with ClientsApi(stack.backoffice_url) as api:
        accepted = next(d for d in api.contracts(subscription["id"]) if d["language"] == "es")
    assert [a["sha256"] for a in accepted["acceptances"]] == [spanish["sha256"]]
