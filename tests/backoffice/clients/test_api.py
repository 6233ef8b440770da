"""The clients API: billing and admin write, agents and the NOC read, a subscriber reads only
their own records (another's are 404), services by scope; errors name the field at fault."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from backoffice.clients import contracts
from backoffice.clients.models import Client, ContractAcceptance
from tests.backoffice.clients.conftest import cedula

pytestmark = pytest.mark.django_db(databases=["default", "clients"])

BASE = "/api/clients/v1"


def _client_body(**overrides):
    body = {
        "name": "Marcela Sánchez",
        "identification_type": "cedula",
        "identification": cedula("110456789"),
        "email": "marcela@example.ec",
        "address": "Bolívar 12-34, Loja",
        "language": "es",
    }
    body.update(overrides)
    return body


def test_carol_registers_a_client(carol, client_as, now):
    response = client_as(carol).post(f"{BASE}/clients/", _client_body(), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["identification"] == cedula("110456789")
    assert Client.objects.get(pk=response.json()["id"]).status == "prospect"


def test_a_duplicate_identification_is_a_400_naming_the_client_in_the_users_language(
    alice_client, carol, client_as, now
):
    body = _client_body(identification=alice_client.identification)

    english = client_as(carol).post(f"{BASE}/clients/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    spanish = client_as(carol).post(f"{BASE}/clients/", body, format="json", HTTP_ACCEPT_LANGUAGE="es")

    assert english.status_code == spanish.status_code == 400
    assert english.json()["fields"]["identification"] == [
        f"This identification already belongs to client {alice_client.pk} (Alice Andrade)."
    ]
    assert spanish.json()["fields"]["identification"] == [
        f"Esta identificación ya pertenece al cliente {alice_client.pk} (Alice Andrade)."
    ]


def test_a_wrong_check_digit_is_a_field_error(carol, client_as, now):
    bad = cedula("110456789")[:9] + str((int(cedula("110456789")[9]) + 1) % 10)

    response = client_as(carol).post(
        f"{BASE}/clients/", _client_body(identification=bad), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert "check digit" in response.json()["fields"]["identification"][0]


def test_a_missing_name_and_a_bad_email_are_each_named(carol, client_as):
    response = client_as(carol).post(
        f"{BASE}/clients/",
        _client_body(name="", email="not-an-email"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"name", "email"}


def test_agents_and_the_noc_read_but_do_not_write(bob, nora, alice_client, client_as):
    for reader in (bob, nora):
        api = client_as(reader)
        assert api.get(f"{BASE}/clients/").status_code == 200
        assert api.get(f"{BASE}/clients/{alice_client.pk}/").status_code == 200
        assert api.post(f"{BASE}/clients/", _client_body(), format="json").status_code == 403


def test_the_search_finds_clients_by_name_identification_email_and_pppoe_user(
    alice_client, charlie_client, subscription_factory, carol, client_as
):
    subscription_factory(client=charlie_client, pppoe_username="charlie.casa")
    api = client_as(carol)

    def found(q):
        return [c["id"] for c in api.get(f"{BASE}/clients/", {"q": q}).json()["results"]]

    assert found("andrade") == [alice_client.pk]
    assert found(alice_client.identification[:6]) == [alice_client.pk]
    assert found("charlie@example") == [charlie_client.pk]
    assert found("charlie.casa") == [charlie_client.pk]


def test_the_client_list_is_paginated_and_filtered(client_factory, carol, client_as):
    client_factory.create_batch(3, status="active")
    client_factory.create_batch(2, status="retired")

    page = client_as(carol).get(f"{BASE}/clients/", {"status": "retired"}).json()

    assert page["count"] == 2
    assert {"next", "previous", "results"} <= set(page)


def test_alice_reads_her_own_client_and_not_charlies(alice, alice_client, charlie_client, client_as):
    api = client_as(alice)

    assert api.get(f"{BASE}/clients/{alice_client.pk}/").status_code == 200
    assert api.get(f"{BASE}/clients/{charlie_client.pk}/").status_code == 404
    assert [c["id"] for c in api.get(f"{BASE}/clients/").json()["results"]] == [alice_client.pk]
    assert api.patch(f"{BASE}/clients/{alice_client.pk}/", {"name": "X"}, format="json").status_code == 403


def test_the_pppoe_password_is_shown_at_creation_and_then_only_to_admins(
    alice_client, hogar, pools, carol, ada, client_as, now
):
    created = client_as(carol).post(
        f"{BASE}/subscriptions/",
        {
            "client_id": alice_client.pk,
            "plan": "hogar-20",
            "router": "torre-norte",
            "billing_day": 5,
            "start_date": "2025-03-10",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    password = created.json()["pppoe_password"]
    assert password and created.json()["address"] == "10.20.0.2"
    url = f"{BASE}/subscriptions/{created.json()['id']}/"

    assert client_as(carol).get(url).json()["pppoe_password"] is None
    assert client_as(ada).get(url).json()["pppoe_password"] == password


def test_a_subscription_naming_an_unknown_plan_is_a_400_on_that_field(alice_client, pools, carol, client_as):
    response = client_as(carol).post(
        f"{BASE}/subscriptions/",
        {
            "client_id": alice_client.pk,
            "plan": "no-such",
            "router": "torre-norte",
            "billing_day": 5,
            "start_date": "2025-03-10",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "plan" in response.json()["fields"]


def test_plan_change_move_and_cancel_through_the_api(
    subscription_factory, hogar, pyme, pools, carol, client_as, outbox
):
    subscription = subscription_factory(plan=hogar, router="torre-norte")
    api = client_as(carol)
    base = f"{BASE}/subscriptions/{subscription.pk}"

    assert (
        api.post(f"{base}/change-plan", {"plan": "pyme-100"}, format="json").json()["plan"]["code"]
        == "pyme-100"
    )
    assert api.post(f"{base}/move", {"router": "torre-sur"}, format="json").json()["router"] == "torre-sur"
    assert api.post(f"{base}/cancel", {}, format="json").json()["status"] == "cancelled"
    assert api.post(f"{base}/change-plan", {"plan": "hogar-20"}, format="json").status_code == 409
    assert [e["type"] for e in outbox()] == [
        "clients.subscription.plan_changed",
        "clients.subscription.moved",
        "clients.subscription.cancelled",
    ]


def test_services_use_scopes(alice_client, service_client):
    assert service_client("clients.read").get(f"{BASE}/clients/").status_code == 200
    assert (
        service_client("clients.read").post(f"{BASE}/clients/", _client_body(), format="json").status_code
        == 403
    )
    assert (
        service_client("clients.write").post(f"{BASE}/clients/", _client_body(), format="json").status_code
        == 201
    )
    assert service_client("billing.read").get(f"{BASE}/clients/").status_code == 403


def test_alice_downloads_and_accepts_her_current_contract_but_cannot_see_charlies(
    alice, alice_client, charlie_client, subscription_factory, hogar, pyme, client_as
):
    mine = subscription_factory(client=alice_client, plan=hogar)
    theirs = subscription_factory(client=charlie_client, plan=hogar)
    for subscription in (mine, theirs):
        contracts.contract_render(subscription_id=subscription.pk, now=timezone.now())
    api = client_as(alice)

    listed = api.get(f"{BASE}/subscriptions/{mine.pk}/contracts/").json()["results"]
    pdf = api.get(f"{BASE}/subscriptions/{mine.pk}/contracts/1/es.pdf")
    accepted = api.post(
        f"{BASE}/subscriptions/{mine.pk}/contracts/1/accept",
        {"language": "es", "sha256": pdf["X-Content-SHA256"]},
        format="json",
        REMOTE_ADDR="203.0.113.9",
    )

    assert [(c["version"], c["language"], c["current"]) for c in listed] == [(1, "en", True), (1, "es", True)]
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert accepted.status_code == 201, accepted.content
    acceptance = ContractAcceptance.objects.get()
    assert (acceptance.user_subject, acceptance.ip, acceptance.sha256) == (
        accepted.json()["user"],
        "203.0.113.9",
        pdf["X-Content-SHA256"],
    )
    assert api.get(f"{BASE}/subscriptions/{theirs.pk}/contracts/").status_code == 404
    assert api.get(f"{BASE}/subscriptions/{theirs.pk}/contracts/1/es.pdf").status_code == 404
    assert (
        api.post(f"{BASE}/subscriptions/{theirs.pk}/contracts/1/accept", {}, format="json").status_code == 404
    )
    assert api.get(f"{BASE}/subscriptions/{theirs.pk}/").status_code == 404


def test_only_the_current_version_can_be_accepted(
    alice, alice_client, subscription_factory, hogar, pyme, client_as, now
):
    from backoffice.clients import services

    subscription = subscription_factory(client=alice_client, plan=hogar)
    contracts.contract_render(subscription_id=subscription.pk, now=now)
    services.subscription_change_plan(subscription=subscription, plan=pyme, now=now)
    contracts.contract_render(subscription_id=subscription.pk, now=now)

    old = client_as(alice).post(
        f"{BASE}/subscriptions/{subscription.pk}/contracts/1/accept", {}, format="json"
    )

    assert old.status_code == 409
    assert old.json()["error"] == "not_current"


def test_me_gives_the_subscribers_client_and_active_subscriptions(
    alice, alice_client, subscription_factory, client_as
):
    subscription_factory(client=alice_client, billing_day=20, start_date=date(2025, 1, 1))

    me = client_as(alice).get(f"{BASE}/me/").json()

    assert me["client"]["id"] == alice_client.pk
    [subscription] = me["subscriptions"]
    assert subscription["plan"]["price_with_tax"] == "28.75"
    assert subscription["pppoe_password"] is None


def test_the_openapi_document_has_paginated_envelopes_and_error_answers(client):
    schema = client.get(f"{BASE}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    listing = schema["paths"]["/api/clients/v1/clients/"]["get"]["responses"]
    page_ref = listing["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page_ref.endswith("/PaginatedClientOutputList")
    page = schema["components"]["schemas"]["PaginatedClientOutputList"]
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    creating = schema["paths"]["/api/clients/v1/subscriptions/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409"} <= set(creating)
    assert creating["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
