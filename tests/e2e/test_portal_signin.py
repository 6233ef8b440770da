"""A subscriber signs in with the Spanish UI, and an open dashboard learns live (over the
WebSocket) that their password was changed in another browser.

Runs the real stack of ``scripts/devstack.py`` (Tansu, back-office, relay, portal, portal
consumer) on PostgreSQL and Redis, and drives Debian's Chromium through Playwright.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from scripts.devstack import DEMO_PASSWORD, Stack
from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.stack import fresh_stack

pytestmark = pytest.mark.browser

PG_PREFIX = pg_prefix("enlace_ptle2e_")
REDIS_URL = redis_url(4)
SUBSCRIBER = "subscriber@enlace.demo"
NEW_PASSWORD = "Clave-Nueva-Portal-2026"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with fresh_stack(
        tmp_path_factory.mktemp("portal-e2e"),
        pg_prefix=PG_PREFIX,
        redis_url=REDIS_URL,
        routers=[],
        with_netagent=False,
        with_network_consumer=False,
    ) as running:
        yield running


def test_an_open_dashboard_shows_live_that_the_password_was_changed_elsewhere(stack: Stack) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    def sign_in(page: Page, password: str = DEMO_PASSWORD) -> None:
        page.goto(stack.portal_url + "/")
        expect(page.get_by_role("heading", name="Inicia sesión en tu cuenta")).to_be_visible()
        page.get_by_label("Correo electrónico").fill(SUBSCRIBER)
        page.get_by_label("Contraseña", exact=True).fill(password)
        page.get_by_role("button", name="Iniciar sesión").click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        expect(page.get_by_role("heading", name="Hola, Alice Subscriber")).to_be_visible()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            watching = browser.new_context(locale="es-EC").new_page()
            with watching.expect_websocket(lambda ws: ws.url.endswith("/ws/notifications/")) as socket_info:
                sign_in(watching)
            socket = socket_info.value
            expect(watching.get_by_test_id("notifications")).to_contain_text(
                "Los nuevos avisos aparecen aquí"
            )
            assert not socket.is_closed()

            other = browser.new_context(locale="es-EC").new_page()
            sign_in(other)
            other.get_by_role("link", name="Cambiar contraseña").click()
            other.get_by_label("Contraseña actual").fill(DEMO_PASSWORD)
            other.get_by_label("Nueva contraseña", exact=True).fill(NEW_PASSWORD)
            other.get_by_label("Repite la nueva contraseña").fill(NEW_PASSWORD)
            other.get_by_role("button", name="Cambiar contraseña").click()
            expect(other.get_by_text("Tu contraseña fue cambiada.")).to_be_visible()

            # The first browser did not reload: the notice arrived over its WebSocket.
            notice = watching.locator("[data-notice=password-changed]")
            expect(notice).to_contain_text("Tu contraseña fue cambiada", timeout=15_000)
            expect(watching.get_by_text("Los nuevos avisos aparecen aquí")).to_be_hidden()

            watching.get_by_role("button", name="Cerrar sesión").click()
            expect(watching).to_have_url(re.compile(r"/signin/$"))
            watching.goto(stack.portal_url + "/dashboard/")
            expect(watching).to_have_url(re.compile(r"/signin/\?next="))
        finally:
            browser.close()
