"""Staff act on services from the Django admin through the same domain functions as the API."""

from __future__ import annotations

import pytest
from django.test import Client

from backoffice.network.models import Service, ServiceStatus, SuspensionReason

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
