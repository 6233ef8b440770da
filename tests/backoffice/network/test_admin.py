"""Staff act on services from the Django admin through the same domain functions as the API."""

from __future__ import annotations

import pytest
from django.test import Client

from backoffice.network.models import Router, Service, ServiceStatus, SuspensionReason
from backoffice.network.secrets import router_password_open

pytestmark = pytest.mark.django_db(databases=["default", "network"])


@pytest.fixture
def admin_browser(ada) -> Client:
    ada.is_staff = True
    ada.is_superuser = True
    ada.save()
    browser = Client()
    browser.force_login(ada)
    return browser


def _act(browser: Client, action: str, *services: Service) -> None:
    response = browser.post(
        "/admin/network/service/",
        {"action": action, "_selected_action": [s.pk for s in services]},
        follow=True,
    )
    assert response.status_code == 200


def test_suspending_from_the_admin_sends_the_suspension_to_the_router(admin_browser, service_factory, outbox):
    service = service_factory(status=ServiceStatus.ACTIVE)

    _act(admin_browser, "suspend_selected", service)

    service.refresh_from_db()
    assert service.status == ServiceStatus.SUSPENDED
    assert service.suspension_reason == SuspensionReason.MANUAL
    assert service.revision == 2
    [command] = outbox(type="network.service.desired")
    assert command["data"]["status"] == "suspended"
    assert command["data"]["revision"] == 2
    assert command["data"]["router"] == service.router.name


def test_reactivating_from_the_admin_lifts_a_suspension(admin_browser, service_factory, outbox):
    service = service_factory(status=ServiceStatus.SUSPENDED, suspension_reason=SuspensionReason.MANUAL)

    _act(admin_browser, "reactivate_selected", service)

    service.refresh_from_db()
    assert service.status == ServiceStatus.ACTIVE
    [command] = outbox(type="network.service.desired")
    assert command["data"]["status"] == "active"


def test_an_admin_action_refused_by_the_domain_is_reported_and_changes_nothing(
    admin_browser, service_factory, outbox
):
    terminated = service_factory(status=ServiceStatus.TERMINATED)

    response = admin_browser.post(
        "/admin/network/service/",
        {"action": "reactivate_selected", "_selected_action": [terminated.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert str(terminated.subscription_id) in response.content.decode()
    terminated.refresh_from_db()
    assert terminated.status == ServiceStatus.TERMINATED
    assert outbox(type="network.service.desired") == []


def test_reconciling_a_router_from_the_admin_sends_the_reconcile_command(admin_browser, router, outbox):
    response = admin_browser.post(
        "/admin/network/router/",
        {"action": "reconcile_selected", "_selected_action": [router.pk]},
        follow=True,
    )

    assert response.status_code == 200
    [command] = outbox(type="network.router.reconcile")
    assert command["data"] == {"router": router.name}


# --- a service's state is read-only in the admin ---------------------------------------------------


def test_a_service_page_shows_its_state_but_offers_nothing_to_edit(admin_browser, service_factory):
    service = service_factory(status=ServiceStatus.ACTIVE)

    page = admin_browser.get(f"/admin/network/service/{service.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert service.pppoe_username in html
    for field in ("status", "revision", "address", "router", "download", "suspension_reason"):
        assert f'name="{field}"' not in html, field


def test_posting_a_new_status_to_a_service_page_is_refused_and_changes_nothing(
    admin_browser, service_factory, outbox
):
    service = service_factory(status=ServiceStatus.ACTIVE, revision=3)

    response = admin_browser.post(
        f"/admin/network/service/{service.pk}/change/",
        {"status": "suspended", "revision": "9", "address": "10.99.9.9", "suspension_reason": "manual"},
    )

    assert response.status_code == 403
    service.refresh_from_db()
    assert (service.status, service.revision) == (ServiceStatus.ACTIVE, 3)
    assert outbox() == []


def test_services_are_neither_added_nor_deleted_from_the_admin(admin_browser, service_factory):
    service = service_factory()

    assert admin_browser.get("/admin/network/service/add/").status_code == 403
    deleting = admin_browser.post(f"/admin/network/service/{service.pk}/delete/", {"post": "yes"})
    assert deleting.status_code == 403
    assert Service.objects.filter(pk=service.pk).exists()


# --- routers are saved through the API's service functions -------------------------------------------


ROUTER = {
    "host": "192.0.2.30",
    "api_port": "8728",
    "username": "enlace",
    "password": "r0uter-pass",
    "site": "Cuenca",
    "description": "",
    "address_pool": "10.30.0.7/24",
    "active": "on",
}


def _admin_add_router(browser: Client, **values: str):
    return browser.post("/admin/network/router/add/", {**ROUTER, **values})


def _api_add_router(api, **values: str):
    body = {**ROUTER, "api_port": int(values.pop("api_port", ROUTER["api_port"])), "active": True, **values}
    return api.post("/api/network/v1/routers/", body, format="json")


@pytest.mark.parametrize(
    ("bad", "api_field"),
    [({"address_pool": "10.30.0.0/33"}, "address_pool"), ({"api_port": "70000"}, "api_port")],
)
def test_the_router_admin_refuses_what_the_api_refuses(admin_browser, client_as, nora, bad, api_field):
    api_answer = _api_add_router(client_as(nora), name="torre-api", **bad)
    admin_answer = _admin_add_router(admin_browser, name="torre-admin", **bad)

    assert api_answer.status_code == 400
    assert admin_answer.status_code == 200  # the form again, with the error
    assert admin_answer.context["adminform"].form.errors[api_field]
    assert not Router.objects.filter(name__in=["torre-api", "torre-admin"]).exists()


def test_the_router_admin_refuses_a_taken_name_as_the_api_does(admin_browser, client_as, nora, router):
    assert _api_add_router(client_as(nora), name=router.name).status_code == 409

    answer = _admin_add_router(admin_browser, name=router.name)

    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["name"]
    assert Router.objects.filter(name=router.name).count() == 1


def test_a_router_saved_in_the_admin_is_stored_as_the_api_stores_it(admin_browser, client_as, nora):
    assert _api_add_router(client_as(nora), name="torre-api").status_code == 201
    assert _admin_add_router(admin_browser, name="torre-admin").status_code == 302

    by_api, by_admin = Router.objects.get(name="torre-api"), Router.objects.get(name="torre-admin")

    compared = ("host", "api_port", "api_ssl", "username", "site", "description", "address_pool", "active")
    assert {f: getattr(by_admin, f) for f in compared} == {f: getattr(by_api, f) for f in compared}
    assert by_admin.address_pool == "10.30.0.0/24"  # normalised by the service, as for the API
    assert "r0uter-pass" not in by_admin.password
    assert router_password_open(by_admin.password) == router_password_open(by_api.password) == "r0uter-pass"


def test_editing_a_router_in_the_admin_keeps_a_blank_password_and_seals_a_new_one(admin_browser, router):
    sealed_before = router.password
    values = {**ROUTER, "host": "192.0.2.31", "password": ""}

    assert admin_browser.post(f"/admin/network/router/{router.pk}/change/", values).status_code == 302
    router.refresh_from_db()
    assert (router.host, router.password) == ("192.0.2.31", sealed_before)

    values["password"] = "otra-clave"
    assert admin_browser.post(f"/admin/network/router/{router.pk}/change/", values).status_code == 302
    router.refresh_from_db()
    assert router_password_open(router.password) == "otra-clave"


def test_a_router_password_is_not_in_the_database_in_clear(client_as, nora):
    from django.db import connections

    _api_add_router(client_as(nora), name="torre-api", password="clave-muy-secreta")

    with connections["network"].cursor() as cursor:
        cursor.execute("SELECT password FROM network_router WHERE name = %s", ["torre-api"])
        (stored,) = cursor.fetchone()

    assert stored and "clave-muy-secreta" not in stored
    assert router_password_open(stored) == "clave-muy-secreta"
