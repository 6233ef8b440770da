"""Support chat end to end: a subscriber (on a 390 px wide phone screen) and two agents in three
browser contexts, the real stack (scripts/devstack.py) and a real Rasa server.

The subscriber is greeted by the bot, asks for a human, Bob (agent) takes over and they talk
live; the bot stays silent meanwhile; Carla (another agent) is refused; after Bob hands the
conversation back the bot answers again.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.devstack import DEMO_PASSWORD, PYTHON, ROOT, Stack
from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.rasa import RasaBot, rasa_bot
from tests.fixtures.stack import fresh_stack

pytestmark = pytest.mark.browser

PG_PREFIX = pg_prefix("enlace_chate2e_")
REDIS_URL = redis_url(5)
METADATA_KEY = "e2e-chat-key"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
GREETING = "¡Hola! Soy el asistente de Enlace."


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaBot]:
    action_env = {"ENLACE_CHATBOT_METADATA_KEY": METADATA_KEY}
    with rasa_bot(tmp_path_factory.mktemp("chat-rasa"), action_env) as running:
        yield running


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bot: RasaBot) -> Iterator[Stack]:
    with fresh_stack(
        tmp_path_factory.mktemp("chat-e2e"),
        pg_prefix=PG_PREFIX,
        redis_url=REDIS_URL,
        routers=[],
        with_netagent=False,
        with_network_consumer=False,
        extra_env={"ENLACE_RASA_URL": bot.url, "ENLACE_CHATBOT_METADATA_KEY": METADATA_KEY},
    ) as running:
        code = (
            "from backoffice.identity import services; services.user_create(email='carla@enlace.demo', "
            f"roles=['agent'], full_name='Carla Agente', password={DEMO_PASSWORD!r}, email_verified=True)"
        )
        subprocess.run(
            [PYTHON, "-m", "backoffice", "shell", "-c", code], env=running.env(), cwd=ROOT, check=True
        )
        yield running


def test_an_agent_takes_over_from_the_bot_and_hands_back(stack: Stack, tmp_path: Path) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    def sign_in(page: Page, email: str) -> None:
        page.goto(stack.portal_url + "/signin/")
        page.get_by_label("Correo electrónico").fill(email)
        page.get_by_label("Contraseña", exact=True).fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))

    def messages(page: Page, text: str) -> object:
        return page.get_by_test_id("chat-message").filter(has_text=text)

    def said(page: Page, text: str) -> object:
        """Messages whose text is exactly `text` (the greeting also contains "Hola")."""
        return page.get_by_test_id("chat-message").locator(".chat-text").get_by_text(text, exact=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            phone = browser.new_context(locale="es-EC", viewport={"width": 390, "height": 844})
            alice = phone.new_page()
            sign_in(alice, "subscriber@enlace.demo")
            alice.get_by_test_id("chat-bubble").click()
            panel = alice.get_by_test_id("chat-panel")
            expect(panel).to_be_visible()
            expect(alice.get_by_test_id("chat-state")).to_contain_text("Asistente virtual")
            box = panel.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390

            alice.get_by_test_id("chat-input").fill("hola")
            alice.get_by_test_id("chat-send").click()
            expect(messages(alice, GREETING)).to_have_count(1, timeout=30_000)

            alice.get_by_test_id("chat-handoff").click()
            expect(messages(alice, "Te estamos comunicando con un asesor")).to_be_visible()
            expect(alice.get_by_test_id("chat-state")).to_contain_text("Esperando a un asesor")

            bob = browser.new_context(locale="es-EC").new_page()
            sign_in(bob, "agent@enlace.demo")
            bob.get_by_test_id("agent-console-link").click()
            bob.get_by_test_id("queue-item").first.get_by_role("link").click()
            expect(bob.get_by_test_id("chat-take-over")).to_be_visible()

            carla = browser.new_context(locale="es-EC").new_page()
            sign_in(carla, "carla@enlace.demo")
            carla.goto(bob.url)
            expect(carla.get_by_test_id("chat-take-over")).to_be_visible()

            bob.get_by_test_id("chat-take-over").click()
            expect(bob.get_by_test_id("chat-action-result")).to_contain_text("La conversación es tuya")
            expect(alice.get_by_test_id("chat-state")).to_contain_text("Te atiende Bob Agent")
            expect(messages(alice, "Bob Agent se unió a la conversación.")).to_be_visible()

            # Carla's screen says who has it, and her take-over (sent anyway) is refused.
            expect(carla.get_by_test_id("chat-owner")).to_contain_text("Bob Agent atiende esta conversación")
            csrf = json.loads(carla.locator("body").get_attribute("hx-headers") or "{}")["X-CSRFToken"]
            headers = {"X-CSRFToken": csrf, "HX-Request": "true"}
            refused = carla.request.post(carla.url + "take/", headers=headers)
            assert refused.status == 409
            assert "Bob Agent ya atiende esta conversación." in refused.text()

            alice.get_by_test_id("chat-input").fill("No tengo internet desde ayer")
            alice.get_by_test_id("chat-send").click()
            expect(messages(bob, "No tengo internet desde ayer")).to_be_visible()
            bob.get_by_test_id("chat-input").fill("Ya reviso tu línea, un momento")
            bob.get_by_test_id("chat-send").click()
            expect(messages(alice, "Ya reviso tu línea, un momento")).to_be_visible()

            # The bot hears nothing while Bob has the conversation.
            alice.get_by_test_id("chat-input").fill("hola")
            alice.get_by_test_id("chat-send").click()
            expect(said(bob, "hola")).to_have_count(2)
            alice.wait_for_timeout(3000)
            expect(messages(alice, GREETING)).to_have_count(1)

            bob.get_by_test_id("chat-hand-back").click()
            expect(messages(alice, "El asistente virtual volvió a la conversación.")).to_be_visible()
            alice.get_by_test_id("chat-input").fill("hola")
            alice.get_by_test_id("chat-send").click()
            expect(messages(alice, GREETING)).to_have_count(2, timeout=30_000)
            expect(messages(bob, GREETING)).to_have_count(2)
        finally:
            browser.close()
