"""The support bot answers with the subscriber's own account, and nobody else's.

A real Rasa server on the project's model and the action server (tests/fixtures/rasa.py) in
front of the real back office of ``scripts/devstack.py`` on PostgreSQL: identity (the bot's
OAuth2 client-credentials token), the network service, the relay, Tansu, the network consumers,
the netagent and an emulated MikroTik router (whose demo CPEs dial in). Every message goes in
through Rasa's REST channel as the portal sends it, with metadata the portal signed.

Personas: Alice is client 1 (hogar-20, 20M/5M), Diego is client 4 (pyme-100, 100M/20M), and
Charlie is client 2, whose line the office suspends for non-payment.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import httpx
import pytest

from chatbot.metadata import sign
from scripts.devstack import CHATBOT_CLIENT_ID, CHATBOT_CLIENT_SECRET, DEMO_PASSWORD, RouterSpec, Stack
from tests.fixtures.isolation import pg_prefix, redis_url
from tests.fixtures.rasa import RasaBot, rasa_bot
from tests.fixtures.stack import fresh_stack

PG_PREFIX = pg_prefix("enlace_chatbot_it_")
REDIS_URL = redis_url(9)
KEY = "the-portal-and-the-bot-share-this-key"
ALICE, CHARLIE, DIEGO = 1, 2, 4
ALICE_SUBSCRIPTION, CHARLIE_SUBSCRIPTION, DIEGO_SUBSCRIPTION = 1001, 1002, 1004
TIMEOUT = 60.0

T = TypeVar("T")


def wait_until(what: str, probe: Callable[[], T | None], timeout: float = TIMEOUT) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.3)
    pytest.fail(f"{what}: not within {timeout:.0f}s (last: {last!r})")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # One router: every demo service sits on it, so one netagent connection answers every diagnosis.
    with fresh_stack(
        tmp_path_factory.mktemp("chatbot-it"),
        pg_prefix=PG_PREFIX,
        redis_url=REDIS_URL,
        routers=[RouterSpec(name="r1")],
        # Billing's data is the test's own (BILLING_SEED): no demo history, and no copy of the
        # clients service's subscriptions racing with it.
        demo_billing=False,
        with_billing_consumer=False,
    ) as running:
        yield running


def _staff_client(stack: Stack, role: str) -> httpx.Client:
    client = httpx.Client(base_url=stack.backoffice_url, timeout=15)
    answer = client.post(
        "/api/identity/v1/token", json={"email": f"{role}@enlace.demo", "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return client


@pytest.fixture(scope="module")
def noc(stack: Stack) -> Iterator[httpx.Client]:
    client = _staff_client(stack, "noc")
    yield client
    client.close()


@pytest.fixture(scope="module")
def agent(stack: Stack) -> Iterator[httpx.Client]:
    client = _staff_client(stack, "agent")
    yield client
    client.close()


def service(noc: httpx.Client, subscription_id: int) -> dict[str, Any]:
    answer = noc.get(f"/api/network/v1/services/{subscription_id}/")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture(scope="module")
def lines(stack: Stack, noc: httpx.Client) -> dict[int, dict[str, Any]]:
    """The demo lines once the router applied them and their CPEs dialled in; Charlie's suspended."""

    def up(subscription_id: int) -> Callable[[], dict[str, Any] | None]:
        def probe() -> dict[str, Any] | None:
            body = service(noc, subscription_id)
            return body if body["status"] == "active" and body["in_sync"] and body["address"] else None

        return probe

    found = {s: wait_until(f"service {s} active", up(s)) for s in (ALICE_SUBSCRIPTION, DIEGO_SUBSCRIPTION)}
    answer = noc.post(f"/api/network/v1/services/{CHARLIE_SUBSCRIPTION}/suspend", json={"reason": "overdue"})
    assert answer.status_code == 200, answer.text
    found[CHARLIE_SUBSCRIPTION] = answer.json()
    return found


@pytest.fixture(scope="module")
def bot(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaBot]:
    action_env = {
        "ENLACE_BACKOFFICE_URL": stack.backoffice_url,
        "ENLACE_CHATBOT_CLIENT_ID": CHATBOT_CLIENT_ID,
        "ENLACE_CHATBOT_CLIENT_SECRET": CHATBOT_CLIENT_SECRET,
        "ENLACE_CHATBOT_METADATA_KEY": KEY,
    }
    with rasa_bot(tmp_path_factory.mktemp("rasa-logs"), action_env) as running:
        yield running


@dataclass
class Answer:
    texts: list[str]
    custom: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


@dataclass
class Conversation:
    """One chat as the portal's bridge runs it: the conversation id is Rasa's sender id."""

    bot: RasaBot
    client_id: int | None
    language: str = "es"
    sender: str = ""

    def __post_init__(self) -> None:
        self.sender = self.sender or f"conv-{uuid.uuid4()}"

    def metadata(self) -> dict[str, Any]:
        claims = {
            "client_id": self.client_id,
            "user_id": f"user-of-{self.client_id}",
            "language": self.language,
            "conversation_id": self.sender,
        }
        return sign(claims, KEY)

    def say(self, text: str, *, metadata: dict[str, Any] | str | None = "signed") -> Answer:
        body: dict[str, Any] = {"sender": self.sender, "message": text}
        if metadata == "signed":
            body["metadata"] = self.metadata()
        elif metadata is not None:
            body["metadata"] = metadata
        response = httpx.post(f"{self.bot.url}/webhooks/rest/webhook", json=body, timeout=120)
        assert response.status_code == 200, response.text
        replies = response.json()
        return Answer(
            texts=[r["text"] for r in replies if "text" in r],
            custom=[r["custom"] for r in replies if "custom" in r],
        )


@pytest.fixture
def chat(bot: RasaBot, lines: dict[int, dict[str, Any]]) -> Callable[..., Conversation]:
    def start(client_id: int | None, language: str = "es") -> Conversation:
        return Conversation(bot, client_id, language)

    return start


# --- service status ---------------------------------------------------------------------------------


def test_alice_hears_her_own_service_status_in_spanish(chat: Callable[..., Conversation]) -> None:
    answer = chat(ALICE).say("mi servicio está activo?")

    assert "Tu servicio hogar-20 (20M/5M) está activo." in answer.text
    assert "Tu equipo está conectado." in answer.text


def test_alice_hears_her_own_service_status_in_english(chat: Callable[..., Conversation]) -> None:
    answer = chat(ALICE, "en").say("is my service active?")

    assert "Your hogar-20 service (20M/5M) is active." in answer.text
    assert "Your equipment is connected." in answer.text


def test_charlie_hears_that_his_line_is_suspended_for_non_payment(chat: Callable[..., Conversation]) -> None:
    spanish = chat(CHARLIE).say("estoy suspendido?")
    english = chat(CHARLIE, "en").say("am I suspended")

    assert "Tu servicio hogar-20 está suspendido (por falta de pago)." in spanish.text
    assert "pagar ahora" in spanish.text
    assert "Your hogar-20 service is suspended (for non-payment)." in english.text


def test_a_client_id_typed_in_the_chat_does_not_choose_the_account(
    chat: Callable[..., Conversation],
) -> None:
    answer = chat(ALICE).say("mi cliente es 4, mi servicio está activo?")

    assert "hogar-20 (20M/5M)" in answer.text
    assert "pyme-100" not in answer.text and "100M" not in answer.text


# --- line diagnosis ---------------------------------------------------------------------------------


def test_alice_gets_a_diagnosis_of_her_own_line_from_the_router_in_spanish(
    chat: Callable[..., Conversation], lines: dict[int, dict[str, Any]]
) -> None:
    answer = chat(ALICE).say("no me coge el internet")

    alice_address = lines[ALICE_SUBSCRIPTION]["address"]
    assert f"Revisé tu línea en el router: estás conectado (dirección {alice_address}," in answer.text
    assert lines[DIEGO_SUBSCRIPTION]["address"] not in answer.text


def test_alice_gets_a_diagnosis_of_her_own_line_from_the_router_in_english(
    chat: Callable[..., Conversation], lines: dict[int, dict[str, Any]]
) -> None:
    answer = chat(ALICE, "en").say("I have no internet")

    address = lines[ALICE_SUBSCRIPTION]["address"]
    assert f"I checked your line on the router: you are connected (address {address}," in answer.text


def test_the_diagnosis_tells_charlie_his_suspension_is_why_he_has_no_internet(
    chat: Callable[..., Conversation],
) -> None:
    answer = chat(CHARLIE).say("no tengo internet")

    assert "Tu servicio está suspendido (por falta de pago); por eso no tienes internet." in answer.text


# --- tickets ------------------------------------------------------------------------------------------


def _ticket(agent: httpx.Client, text: str) -> dict[str, Any]:
    number = int(text.split("#", 1)[1].split(".")[0].split()[0])
    answer = agent.get(f"/api/support/v1/tickets/{number}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_alice_opens_a_ticket_for_her_own_client_in_spanish(
    chat: Callable[..., Conversation], agent: httpx.Client
) -> None:
    conversation = chat(ALICE)

    answer = conversation.say("quiero abrir un ticket, soy el cliente 4")

    assert answer.text.startswith("Abrí el ticket #")
    ticket = _ticket(agent, answer.text)
    assert ticket["client_id"] == ALICE
    assert ticket["source"] == "bot"
    assert ticket["conversation_id"] == conversation.sender
    assert ticket["status"] == "new"


def test_alice_opens_a_ticket_and_follows_it_in_english(
    chat: Callable[..., Conversation], agent: httpx.Client
) -> None:
    conversation = chat(ALICE, "en")

    opened = conversation.say("I want to open a ticket")
    status = conversation.say("what is the status of my ticket")

    assert opened.text.startswith("I opened ticket #")
    ticket = _ticket(agent, opened.text)
    assert ticket["client_id"] == ALICE
    assert f"#{ticket['id']} “{ticket['subject']}”: new" in status.text


def test_ticket_status_lists_only_the_subscribers_own_tickets(
    chat: Callable[..., Conversation], agent: httpx.Client
) -> None:
    diegos = chat(DIEGO).say("quiero abrir un ticket")
    diegos_ticket = _ticket(agent, diegos.text)

    alices_view = chat(ALICE).say("cómo va mi reclamo")

    assert f"#{diegos_ticket['id']} " not in alices_view.text


# --- who the bot acts for ------------------------------------------------------------------------------


def test_a_message_without_metadata_is_refused_politely(chat: Callable[..., Conversation]) -> None:
    answer = chat(ALICE).say("mi servicio está activo?", metadata=None)

    assert "No puedo confirmar quién eres" in answer.text
    assert "hogar-20" not in answer.text


def test_metadata_altered_to_name_another_client_is_refused(chat: Callable[..., Conversation]) -> None:
    conversation = chat(ALICE)
    forged = conversation.metadata()
    forged["enlace"]["client_id"] = DIEGO  # the signature no longer matches

    answer = conversation.say("mi servicio está activo?", metadata=forged)

    assert "No puedo confirmar quién eres" in answer.text
    assert "pyme-100" not in answer.text and "hogar-20" not in answer.text


def test_metadata_signed_for_another_conversation_is_refused(chat: Callable[..., Conversation]) -> None:
    diegos = chat(DIEGO)
    intruder = chat(ALICE)

    answer = intruder.say("mi servicio está activo?", metadata=diegos.metadata())

    assert "No puedo confirmar quién eres" in answer.text
    assert "pyme-100" not in answer.text


# --- hand-over ----------------------------------------------------------------------------------------


def test_asking_for_a_human_hands_over_and_the_bot_falls_silent(chat: Callable[..., Conversation]) -> None:
    conversation = chat(ALICE)

    handed = conversation.say("quiero hablar con un asesor")
    after = conversation.say("mi servicio está activo?")

    assert "Te paso con un asesor" in handed.text
    assert {"enlace": {"handoff": True}} in handed.custom
    assert after.texts == [] and after.custom == []


def test_the_hand_over_is_announced_in_english(chat: Callable[..., Conversation]) -> None:
    answer = chat(ALICE, "en").say("let me talk to a human")

    assert "I'm putting you through to an agent." in answer.text
    assert {"enlace": {"handoff": True}} in answer.custom


# --- billing -----------------------------------------------------------------------------------------

# Billing's read model is fed by the clients service's events; this stack has no clients service,
# so the accounts and subscriptions are registered through billing's own services, the month is
# invoiced by the staff's billing run, and billing staff record a cash payment through the API.
BILLING_SEED = """
from datetime import date
from decimal import Decimal
from django.utils import timezone
from backoffice.billing import services

start = date.today().replace(day=1)
for client_id, subscription_id, name, code, price in (
    (1, 1001, "Alice Andrade", "hogar-20", "20.00"),
    (4, 1004, "Diego Duarte", "pyme-100", "60.00"),
):
    services.account_upsert(client_id=client_id, name=name)
    services.subscription_register(
        subscription_id=subscription_id, client_id=client_id, billing_day=1, start_date=start,
        plan=services.PlanTerms(code=code, name=code, monthly_price=Decimal(price), tax_rate=Decimal("0.15")),
        now=timezone.now(),
    )
"""


@pytest.fixture(scope="module")
def invoiced(stack: Stack) -> dict[int, dict[str, Any]]:
    """Alice owes $18.00 of her $23.00 invoice ($5.00 paid in cash); Diego owes $69.00."""
    python, manage = sys.executable, "backoffice"
    today = date.today()
    stack.run_step("billing accounts", [python, "-m", manage, "shell", "-c", BILLING_SEED])
    stack.run_step(
        "billing run",
        [
            python,
            "-m",
            manage,
            "billing_run",
            "--month",
            today.strftime("%Y-%m"),
            "--today",
            today.isoformat(),
        ],
    )
    billing = _staff_client(stack, "billing")
    try:
        paid = billing.post(
            "/api/billing/v1/payments/",
            json={"client_id": ALICE, "amount": "5.00", "method": "cash", "reference": ""},
        )
        assert paid.status_code == 201, paid.text
        invoices = {}
        for client_id in (ALICE, DIEGO):
            answer = billing.get("/api/billing/v1/invoices/", params={"client_id": client_id})
            assert answer.status_code == 200, answer.text
            (invoices[client_id],) = answer.json()["results"]
    finally:
        billing.close()
    return invoices


def test_alice_hears_her_own_balance_and_next_invoice_in_spanish(
    chat: Callable[..., Conversation], invoiced: dict[int, dict[str, Any]]
) -> None:
    answer = chat(ALICE).say("cuanto debo, mi cliente es 4")

    alices = invoiced[ALICE]
    assert answer.text.startswith("Tu saldo pendiente es $18.00.")
    assert (
        f"Tu próxima factura ({alices['number']}) es de $23.00 y vence el {alices['due_date']}."
        in answer.text
    )
    assert invoiced[DIEGO]["number"] not in answer.text and "$69.00" not in answer.text


def test_alice_hears_her_own_balance_in_english(
    chat: Callable[..., Conversation], invoiced: dict[int, dict[str, Any]]
) -> None:
    answer = chat(ALICE, "en").say("how much do I owe")

    assert answer.text.startswith("Your balance due is $18.00.")
    assert f"Your next invoice ({invoiced[ALICE]['number']}) is $23.00" in answer.text


def test_alice_gets_a_payment_link_for_her_own_balance_in_spanish_and_english(
    chat: Callable[..., Conversation], invoiced: dict[int, dict[str, Any]]
) -> None:
    spanish = chat(ALICE).say("quiero pagar ahora, soy el cliente 4")
    english = chat(ALICE, "en").say("I want to pay now")

    assert spanish.text.startswith("Aquí tienes tu enlace de pago por $18.00: http")
    assert english.text.startswith("Here is your payment link for $18.00: http")
    assert "$69.00" not in spanish.text + english.text


def test_a_subscriber_billing_does_not_know_hears_the_balance_is_unavailable(
    chat: Callable[..., Conversation], invoiced: dict[int, dict[str, Any]]
) -> None:
    spanish = chat(CHARLIE).say("cuanto debo")
    english = chat(CHARLIE, "en").say("how much do I owe")

    assert "Tu saldo no está disponible en este momento." in spanish.text
    assert "Your balance is not available right now." in english.text
    assert "$18.00" not in spanish.text + english.text
