"""The HTTP API: staff and services with scopes manage everything, a subscriber sees their own."""

from __future__ import annotations

import pytest

from backoffice.network.models import Router, Service
from backoffice.network.secrets import router_password_open
from enlace_messaging.catalog import NETWORK_COMMANDS

pytestmark = pytest.mark.django_db(databases=["default", "network"])

BASE = "/api/network/v1"


def _new_service(**overrides):
    body = {
        "subscription_id": 501,
        "client_id": 1,
        "router": "torre-norte",
        "pppoe_username": "alice.andrade",
        "pppoe_password": "clave-pppoe",
        "address": "10.20.0.15",
        "plan_code": "hogar-20",
        "download": "20M",
        "upload": "5M",
    }
    body.update(overrides)
    return body


# --- routers ----------------------------------------------------------------------------------------


def test_nora_registers_a_router_whose_password_is_never_returned(nora, client_as):
    nora_api = client_as(nora)

    created = nora_api.post(
        f"{BASE}/routers/",
        {"name": "torre-sur", "host": "192.0.2.10", "username": "enlace", "password": "r0uter-pass"},
        format="json",
    )
    listed = nora_api.get(f"{BASE}/routers/")
    shown = nora_api.get(f"{BASE}/routers/torre-sur/")

    assert created.status_code == 201, created.content
    assert router_password_open(Router.objects.get(name="torre-sur").password) == "r0uter-pass"
    for response in (created, listed, shown):
        assert b"r0uter-pass" not in response.content
        assert b'"password"' not in response.content
    assert shown.json()["has_password"] is True


def test_a_router_password_can_be_changed_but_not_read(router, ada, client_as):
    response = client_as(ada).patch(f"{BASE}/routers/torre-norte/", {"password": "nueva"}, format="json")

    assert response.status_code == 200
    assert "password" not in response.json()
    router.refresh_from_db()
    assert router_password_open(router.password) == "nueva"


def test_a_subscriber_cannot_see_routers(router, alice, client_as):
    assert client_as(alice).get(f"{BASE}/routers/").status_code == 403


def test_an_agent_is_not_network_staff(router, bob, client_as):
    assert client_as(bob).get(f"{BASE}/routers/").status_code == 403


def test_an_agent_reads_a_subscribers_service_beside_the_chat_but_cannot_change_it(
    service_factory, router, bob, client_as
):
    service = service_factory(router=router)
    agent = client_as(bob)

    assert agent.get(f"{BASE}/services/{service.subscription_id}/").json()["status"] == service.status
    assert agent.post(f"{BASE}/services/{service.subscription_id}/suspend", {}).status_code == 403


def test_a_router_with_services_cannot_be_deleted(service_factory, router, nora, client_as):
    service_factory(router=router)

    response = client_as(nora).delete(f"{BASE}/routers/torre-norte/")

    assert response.status_code == 409
    assert response.json()["error"] == "router_in_use"


def test_reconciling_a_router_is_accepted(router, nora, client_as, outbox):
    response = client_as(nora).post(f"{BASE}/routers/torre-norte/reconcile")

    assert response.status_code == 202
    assert outbox(topic=NETWORK_COMMANDS)[0]["id"] == response.json()["command_id"]


# --- services --------------------------------------------------------------------------------------


def test_nora_creates_a_service_and_its_command_is_queued(router, nora, client_as, outbox, now):
    response = client_as(nora).post(f"{BASE}/services/", _new_service(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["revision"], body["router"], body["speed"]) == (
        "pending",
        1,
        "torre-norte",
        {"download": "20M", "upload": "5M"},
    )
    assert "pppoe_password" not in body
    assert len(outbox(topic=NETWORK_COMMANDS)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"address": "10.20.0.300"}, "address"),
        ({"download": "20X"}, "download"),
        ({"pppoe_username": "con espacio"}, "pppoe_username"),
    ],
)
def test_a_service_with_bad_values_is_refused_with_the_field_named(router, nora, client_as, change, field):
    response = client_as(nora).post(f"{BASE}/services/", _new_service(**change), format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_service_on_an_unknown_router_is_refused(db, nora, client_as):
    response = client_as(nora).post(f"{BASE}/services/", _new_service(router="torre-x"), format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "unknown_router"


def test_a_duplicate_address_on_the_router_is_a_conflict(router, service_factory, nora, client_as):
    service_factory(router=router, address="10.20.0.15")

    response = client_as(nora).post(f"{BASE}/services/", _new_service(), format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "duplicate_address"
    assert "10.20.0.15" in response.json()["detail"]


def test_errors_speak_spanish_by_default_and_english_on_request(router, service_factory, nora, client_as):
    service_factory(router=router, address="10.20.0.15")
    nora_api = client_as(nora)

    spanish = nora_api.post(f"{BASE}/services/", _new_service(), format="json")
    english = nora_api.post(f"{BASE}/services/", _new_service(), format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert "ya se usa" in spanish.json()["detail"]
    assert "already used" in english.json()["detail"]


def test_nora_suspends_and_reactivates_a_service(service_factory, nora, client_as, now):
    service_factory(subscription_id=501)
    nora_api = client_as(nora)

    suspended = nora_api.post(f"{BASE}/services/501/suspend", {"reason": "manual"}, format="json")
    again = nora_api.post(f"{BASE}/services/501/suspend", {"reason": "manual"}, format="json")
    reactivated = nora_api.post(f"{BASE}/services/501/reactivate")

    assert (suspended.status_code, suspended.json()["status"], suspended.json()["revision"]) == (
        200,
        "suspended",
        2,
    )
    assert again.json()["revision"] == 2
    assert (reactivated.json()["status"], reactivated.json()["revision"]) == ("active", 3)


def test_reactivating_a_terminated_service_is_a_conflict(service_factory, nora, client_as, now):
    service_factory(subscription_id=501)
    nora_api = client_as(nora)
    assert nora_api.post(f"{BASE}/services/501/terminate").status_code == 200

    response = nora_api.post(f"{BASE}/services/501/reactivate")

    assert response.status_code == 409
    assert response.json()["error"] == "terminated"


def test_an_unknown_suspension_reason_is_refused(service_factory, nora, client_as):
    service_factory(subscription_id=501)

    response = client_as(nora).post(f"{BASE}/services/501/suspend", {"reason": "whim"}, format="json")

    assert response.status_code == 400


def test_patching_the_plan_bumps_the_revision(service_factory, ada, client_as, now):
    service_factory(subscription_id=501)

    response = client_as(ada).patch(
        f"{BASE}/services/501/", {"plan_code": "hogar-50", "download": "50M", "upload": "10M"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["revision"], response.json()["speed"]["download"]) == (2, "50M")


def test_the_command_history_is_paginated_newest_first(service_factory, nora, client_as, now):
    service_factory(subscription_id=501)
    nora_api = client_as(nora)
    nora_api.post(f"{BASE}/services/501/suspend", {"reason": "manual"}, format="json")
    nora_api.post(f"{BASE}/services/501/reactivate")

    response = nora_api.get(f"{BASE}/services/501/commands/")

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [c["kind"] for c in response.json()["results"]] == ["reactivate", "suspend"]


def test_a_diagnosis_is_accepted_and_can_be_polled(service_factory, nora, client_as, now):
    service_factory(subscription_id=501)
    nora_api = client_as(nora)

    accepted = nora_api.post(f"{BASE}/services/501/diagnose")
    request_id = accepted.json()["request_id"]
    polled = nora_api.get(f"{BASE}/services/501/diagnosis/{request_id}")

    assert accepted.status_code == 202
    assert accepted.json()["status_url"].endswith(f"/api/network/v1/services/501/diagnosis/{request_id}")
    assert (polled.status_code, polled.json()["status"]) == (200, "pending")


def test_services_can_be_filtered_by_client(service_factory, nora, client_as):
    service_factory(client_id=1, subscription_id=11)
    service_factory(client_id=2, subscription_id=21)

    response = client_as(nora).get(f"{BASE}/services/", {"client_id": 2})

    assert [s["subscription_id"] for s in response.json()["results"]] == [21]


# --- who may do what ------------------------------------------------------------------------------------


def test_a_subscriber_cannot_read_or_change_the_staff_endpoints(service_factory, alice, client_as):
    service_factory(client_id=1, subscription_id=501)
    alice_api = client_as(alice)

    assert alice_api.get(f"{BASE}/services/").status_code == 403
    assert alice_api.get(f"{BASE}/services/501/").status_code == 403
    assert alice_api.post(f"{BASE}/services/501/reactivate").status_code == 403


def test_alice_sees_her_own_services_with_status_and_reason(service_factory, alice, client_as):
    service_factory(
        client_id=1, subscription_id=501, status="suspended", suspension_reason="overdue", online=False
    )
    service_factory(client_id=2, subscription_id=601)

    response = client_as(alice).get(f"{BASE}/me/services/", HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 200
    [mine] = response.json()
    assert (mine["subscription_id"], mine["status"], mine["suspension_reason"], mine["online"]) == (
        501,
        "suspended",
        "overdue",
        False,
    )
    assert mine["suspension_reason_display"] == "Pago vencido"
    assert "pppoe_username" not in mine and "address" not in mine


def test_charlie_cannot_see_alices_service(service_factory, charlie, client_as):
    service_factory(client_id=1, subscription_id=501)

    response = client_as(charlie).get(f"{BASE}/me/services/501/")

    assert response.status_code == 404


def test_staff_without_a_client_have_no_own_services(nora, client_as):
    assert client_as(nora).get(f"{BASE}/me/services/").status_code == 403


def test_an_anonymous_caller_is_refused(db, api_client):
    assert api_client.get(f"{BASE}/services/").status_code in (401, 403)


def test_a_service_token_with_network_read_reads_but_cannot_write(service_factory, service_client):
    service_factory(subscription_id=501)
    reader = service_client("network.read")

    assert reader.get(f"{BASE}/services/501/").status_code == 200
    assert reader.post(f"{BASE}/services/501/diagnose").status_code == 403


def test_a_service_token_with_network_write_can_diagnose(service_factory, service_client, now):
    service_factory(subscription_id=501)

    response = service_client("network.write").post(f"{BASE}/services/501/diagnose")

    assert response.status_code == 202
    assert Service.objects.get(subscription_id=501).diagnoses.count() == 1


@pytest.mark.parametrize("page", ["", "last", "0", "x"])
def test_a_page_that_is_not_a_whole_number_from_1_is_refused_naming_the_field(page, router, nora, client_as):
    response = client_as(nora).get(f"{BASE}/services/", {"page": page})

    assert response.status_code == 400
    assert "page" in response.json()["fields"]
