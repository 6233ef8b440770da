"""Staff register clients in the Django admin through the same services as the API."""

from __future__ import annotations

import pytest
from django.test import Client as Browser

from backoffice.clients.models import Client
from tests.backoffice.clients.conftest import cedula

pytestmark = pytest.mark.django_db(databases=["default", "clients"])


@pytest.fixture
def admin_browser(ada) -> Browser:
    ada.is_staff = True
    ada.is_superuser = True
    ada.save()
    browser = Browser()
    browser.force_login(ada)
    return browser


def _form(**overrides):
    data = {
        "kind": "person",
        "name": "Lucía Mora",
        "identification_type": "cedula",
        "identification": cedula("030405060"),
        "email": "lucia@example.ec",
        "language": "es",
        "status": "prospect",
    }
    data.update(overrides)
    return data


def test_a_client_added_in_the_admin_publishes_its_event(admin_browser, outbox):
    response = admin_browser.post("/admin/clients/client/add/", _form())

    assert response.status_code == 302, response.content.decode()[:2000]
    client = Client.objects.get(name="Lucía Mora")
    assert [e["data"]["client_id"] for e in outbox(type="clients.client.created")] == [client.pk]


def test_the_admin_shows_a_bad_check_digit_on_the_field(admin_browser, outbox):
    bad = cedula("030405060")[:9] + str((int(cedula("030405060")[9]) + 1) % 10)

    response = admin_browser.post(
        "/admin/clients/client/add/", _form(identification=bad), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    assert "check digit" in response.context["adminform"].form.errors["identification"][0]
    assert not Client.objects.exists()
    assert outbox() == []


def test_editing_a_client_in_the_admin_publishes_client_updated(admin_browser, alice_client, outbox):
    response = admin_browser.post(
        f"/admin/clients/client/{alice_client.pk}/change/",
        _form(name="Alice Andrade de Vega", identification=alice_client.identification, status="active"),
    )

    assert response.status_code == 302
    [event] = outbox(type="clients.client.updated")
    assert event["data"]["name"] == "Alice Andrade de Vega"
