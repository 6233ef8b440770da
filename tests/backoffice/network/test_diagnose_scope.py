"""network.diagnose: the support bot may run a line diagnosis and read its result, and nothing
that changes a service (that stays network.write's)."""

from __future__ import annotations

import pytest

from backoffice.network.models import Service

pytestmark = pytest.mark.django_db(databases=["default", "network"])

BASE = "/api/network/v1"


def test_a_token_with_network_diagnose_runs_a_diagnosis_and_reads_its_result(
    service_factory, service_client, now
):
    service_factory(subscription_id=501)
    bot = service_client("network.diagnose")

    started = bot.post(f"{BASE}/services/501/diagnose")
    result = bot.get(f"{BASE}/services/501/diagnosis/{started.json()['request_id']}")

    assert started.status_code == 202
    assert result.status_code == 200
    assert result.json()["status"] == "pending"
    assert Service.objects.get(subscription_id=501).diagnoses.count() == 1


def test_a_token_with_network_diagnose_cannot_suspend_a_service(service_factory, service_client):
    service_factory(subscription_id=501)

    response = service_client("network.diagnose").post(f"{BASE}/services/501/suspend", {}, format="json")

    assert response.status_code == 403
    assert Service.objects.get(subscription_id=501).status != "suspended"
