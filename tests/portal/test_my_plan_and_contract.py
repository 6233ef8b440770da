""" "Mi plan" and "Mi contrato", read from a real clients service (the back-office under Daphne).

The demo data comes from the clients service: Alice (subscriber@enlace.demo, client 1) has
subscription 1001 on Hogar 20 (USD 25.00 + IVA 15 % = USD 28.75, billed on day 5); client 2
(Bruno) has subscription 1002. Tests that accept a contract register a client of their own
through the clients API. Contracts are rendered by a real Celery worker.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import formats, translation

from tests.fixtures.clients_api import ClientsApi
from tests.fixtures.polling import free_port
from tests.portal.conftest import SignedIn
from tests.portal.identity_server import DEMO_PASSWORD, IdentityServer

SUBSCRIBER = "subscriber@enlace.demo"
AGENT = "agent@enlace.demo"
_addresses = itertools.count(10)


def _signed_in(email: str, *, language: str = "es") -> Client:
    client = Client(REMOTE_ADDR=f"203.0.113.{100 + next(_addresses) % 100}")
    response = client.post(reverse("portal:sign-in"), {"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    # The language switch, after sign-in set the account's own language.
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def _subscriber_with_contract(api: ClientsApi, name: str) -> tuple[int, int, list[Any]]:
    """A client of this test alone with a Hogar 50 subscription whose contract was rendered:
    (client id, subscription id, its contract documents)."""
    client = api.client_create(name=name)
    subscription = api.subscription_create(client_id=client["id"], plan="hogar-50")
    return client["id"], subscription["id"], api.contracts_rendered(subscription["id"])


def test_the_subscriber_sees_their_plan_speed_price_with_iva_and_next_billing_day(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    with ClientsApi(identity.url) as api:
        subscription = api.http.get("/subscriptions/1001/").json()
    next_billing = date.fromisoformat(subscription["next_billing_date"])

    response = _signed_in(SUBSCRIBER).get(reverse("portal:my-plan"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Mi plan" in page
    assert 'id="plan-1001"' in page
    assert "Hogar 20 (hogar-20)" in page
    assert "20M de bajada / 5M de subida" in page
    assert "USD 28.75 con IVA 15 % (USD 25.00 sin impuestos)" in page
    with translation.override("es"):
        assert formats.date_format(next_billing, "DATE_FORMAT") in page
    assert next_billing.day == 5 and "el día 5 de cada mes" in page
    # Client 2's subscription is not hers.
    assert 'id="plan-1002"' not in page


def test_the_plan_page_is_in_english_for_an_english_speaker(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    page = _signed_in(SUBSCRIBER, language="en").get(reverse("portal:my-plan")).content.decode()

    assert "My plan" in page
    assert "20M down / 5M up" in page
    assert "USD 28.75 including VAT 15 % (USD 25.00 before tax)" in page
    assert "day 5 of each month" in page


def test_the_dashboard_links_to_my_plan_and_my_contract(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    page = _signed_in(SUBSCRIBER).get(reverse("portal:dashboard")).content.decode()

    assert f'href="{reverse("portal:my-plan")}"' in page
    assert f'href="{reverse("portal:my-contract")}"' in page


def test_staff_have_no_plan_and_no_contract_and_see_no_error(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    client = _signed_in(AGENT)

    plan = client.get(reverse("portal:my-plan")).content.decode()
    contract = client.get(reverse("portal:my-contract")).content.decode()

    assert "Esta cuenta no tiene ningún plan activo." in plan
    assert "Esta cuenta no tiene ningún contrato." in contract
    assert 'data-testid="nav-my-plan"' not in plan


def test_an_unreachable_clients_service_is_said_in_place_of_the_plan(
    network_demo: IdentityServer, identity: IdentityServer, settings: Any
) -> None:
    client = _signed_in(SUBSCRIBER)
    settings.ENLACE_CLIENTS_URL = f"http://127.0.0.1:{free_port()}"

    plan = client.get(reverse("portal:my-plan"))
    contract = client.get(reverse("portal:my-contract"))

    assert plan.status_code == 200
    assert "No podemos mostrar tu plan en este momento." in plan.content.decode()
    assert "No podemos mostrar tu contrato en este momento." in contract.content.decode()


def test_every_contract_version_downloads_as_the_pdf_the_clients_service_holds(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    with ClientsApi(identity.url) as api:
        documents = api.contracts_rendered(1001)
    client = _signed_in(SUBSCRIBER)

    page = client.get(reverse("portal:my-contract")).content.decode()

    assert "Mi contrato" in page
    for document in documents:
        url = reverse("portal:contract-pdf", args=[1001, document["version"], document["language"]])
        assert f'href="{url}"' in page
        download = client.get(url)
        assert download.status_code == 200
        assert download["Content-Type"] == "application/pdf"
        assert "attachment" in download["Content-Disposition"]
        assert download.content.startswith(b"%PDF")
        assert hashlib.sha256(download.content).hexdigest() == document["sha256"]


def test_a_subscriber_accepts_the_current_contract_and_the_page_says_when(
    network_demo: IdentityServer,
    identity: IdentityServer,
    persona_create: Callable[..., str],
    sign_in: Callable[..., SignedIn],
) -> None:
    with ClientsApi(identity.url) as api:
        client_id, subscription_id, documents = _subscriber_with_contract(api, "Bruno Benítez")
    bruno = sign_in(persona_create(name="bruno", client_id=client_id)).client
    page = bruno.get(reverse("portal:my-contract")).content.decode()
    current = max(d["version"] for d in documents)
    spanish = next(d for d in documents if d["version"] == current and d["language"] == "es")
    assert 'data-testid="contract-accept"' in page
    assert f'value="{spanish["sha256"]}"' in page

    response = bruno.post(
        reverse("portal:contract-accept", args=[subscription_id, current]),
        {"language": "es", "sha256": spanish["sha256"]},
        follow=True,
    )

    page = response.content.decode()
    assert f"Aceptaste la versión {current} de tu contrato." in page
    assert 'data-testid="contract-accepted"' in page
    assert 'data-testid="contract-accept"' not in page
    with ClientsApi(identity.url) as api:
        recorded = api.contracts(subscription_id)
    accepted = next(d for d in recorded if d["version"] == current and d["language"] == "es")
    assert [a["sha256"] for a in accepted["acceptances"]] == [spanish["sha256"]]


def test_an_acceptance_of_a_document_that_is_not_the_one_shown_is_refused(
    network_demo: IdentityServer,
    identity: IdentityServer,
    persona_create: Callable[..., str],
    sign_in: Callable[..., SignedIn],
) -> None:
    with ClientsApi(identity.url) as api:
        client_id, subscription_id, documents = _subscriber_with_contract(api, "Daniela Espinoza")
    daniela = sign_in(persona_create(name="daniela", client_id=client_id)).client
    current = max(d["version"] for d in documents)

    response = daniela.post(
        reverse("portal:contract-accept", args=[subscription_id, current]),
        {"language": "es", "sha256": "0" * 64},
        follow=True,
    )

    page = response.content.decode()
    assert "Aceptaste" not in page
    assert 'data-testid="contract-accept"' in page
    with ClientsApi(identity.url) as api:
        recorded = api.contracts(subscription_id)
    assert all(not d["acceptances"] for d in recorded)


def test_a_subscriber_cannot_download_or_accept_another_clients_contract(
    network_demo: IdentityServer, identity: IdentityServer
) -> None:
    with ClientsApi(identity.url) as api:
        _, subscription_id, documents = _subscriber_with_contract(api, "Gabriela Herrera")
    document = documents[0]
    alice = _signed_in(SUBSCRIBER)

    download = alice.get(reverse("portal:contract-pdf", args=[subscription_id, document["version"], "es"]))
    accept = alice.post(
        reverse("portal:contract-accept", args=[subscription_id, document["version"]]),
        {"language": "es", "sha256": document["sha256"]},
    )
    page = alice.get(reverse("portal:my-contract")).content.decode()

    assert download.status_code == 404
    assert accept.status_code == 404
    assert f"contract-{subscription_id}" not in page
    with ClientsApi(identity.url) as api:
        assert all(not d["acceptances"] for d in api.contracts(subscription_id))
