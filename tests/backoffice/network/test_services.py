"""The service functions: each change is state + exactly one desired-state command, atomically."""

from __future__ import annotations

import pytest
from django.db import transaction

from backoffice.access.errors import Conflict, DomainError
from backoffice.network import services
from backoffice.network.models import CommandKind, Service, ServiceCommand, ServiceStatus
from enlace_messaging.catalog import NETWORK_COMMANDS, NETWORK_EVENTS

pytestmark = pytest.mark.django_db(databases=["default", "network"])


def _create(router, now, **overrides):
    values = {
        "subscription_id": 501,
        "client_id": 1,
        "router": router,
        "pppoe_username": "alice.andrade",
        "pppoe_password": "clave-pppoe",
        "address": "10.20.0.15",
        "plan_code": "hogar-20",
        "download": "20M",
        "upload": "5M",
        "now": now,
    }
    values.update(overrides)
    return services.service_create(**values)


def test_creating_a_service_provisions_it_on_its_router_at_revision_one(router, now, outbox):
    service = _create(router, now)

    assert service.status == ServiceStatus.PENDING
    assert service.revision == 1 and service.applied_revision == 0
    [command] = outbox(topic=NETWORK_COMMANDS)
    assert command["key"] == "torre-norte"
    assert command["type"] == "network.service.desired"
    assert command["data"] == {
        "subscription_id": 501,
        "client_id": 1,
        "router": "torre-norte",
        "revision": 1,
        "status": "active",
        "pppoe": {"username": "alice.andrade", "password": "clave-pppoe"},
        "address": "10.20.0.15",
        "speed": {"download": "20M", "upload": "5M"},
    }
    logged = ServiceCommand.objects.get(service=service)
    assert str(logged.command_id) == command["id"]
    assert (logged.revision, logged.kind, logged.status) == (1, CommandKind.PROVISION, "active")


def test_creating_a_service_tells_the_portal_it_is_pending(router, now, outbox):
    _create(router, now)

    [event] = outbox(topic=NETWORK_EVENTS)
    assert event["key"] == "501"
    assert event["data"]["status"] == "pending"
    assert event["data"]["applied"] is False


def test_a_service_without_an_address_gets_the_first_free_one_of_the_router_pool(router, now, outbox):
    first = _create(router, now, address=None)
    second = _create(router, now, address=None, subscription_id=502, pppoe_username="charlie")

    # 10.20.0.1 is left to the router itself.
    assert (first.address, second.address) == ("10.20.0.2", "10.20.0.3")


def test_a_user_name_already_used_on_the_router_is_refused(router, now, outbox):
    _create(router, now)

    with pytest.raises(Conflict) as error:
        _create(router, now, subscription_id=502, address="10.20.0.16")

    assert error.value.code == "duplicate_username"
    assert len(outbox(topic=NETWORK_COMMANDS)) == 1


def test_an_address_already_used_on_the_router_is_refused(router, now):
    _create(router, now)

    with pytest.raises(Conflict) as error:
        _create(router, now, subscription_id=502, pppoe_username="charlie")

    assert error.value.code == "duplicate_address"


def test_a_terminated_service_frees_its_user_name_and_address(router, now):
    services.service_terminate(service=_create(router, now), now=now)

    again = _create(router, now, subscription_id=502)

    assert again.address == "10.20.0.15"


def test_a_speed_that_is_not_a_router_rate_is_refused(router, now):
    with pytest.raises(DomainError) as error:
        _create(router, now, download="20X")

    assert error.value.code == "invalid_speed"


def test_a_rolled_back_change_leaves_no_command_in_the_outbox(router, now, outbox):
    with pytest.raises(RuntimeError), transaction.atomic(using="network"):
        _create(router, now)
        raise RuntimeError("the caller's transaction fails after the service call")

    assert not Service.objects.exists()
    assert outbox() == []


def test_suspending_bumps_the_revision_and_sends_a_suspended_state_that_kicks(service_factory, now, outbox):
    service = service_factory(subscription_id=7, revision=3, applied_revision=3)

    service = services.service_suspend(service=service, reason="overdue", now=now)

    assert (service.status, service.suspension_reason, service.revision) == ("suspended", "overdue", 4)
    [command] = outbox(topic=NETWORK_COMMANDS)
    assert command["key"] == service.router.name
    assert command["data"]["revision"] == 4
    assert command["data"]["status"] == "suspended"
    assert command["data"]["kick"] is True
    [event] = outbox(topic=NETWORK_EVENTS)
    assert event["data"] == {
        "subscription_id": 7,
        "client_id": 1,
        "status": "suspended",
        "reason": "overdue",
        "online": None,
        "applied": False,
        "revision": 4,
    }


def test_suspending_a_suspended_service_changes_nothing(service_factory, now, outbox):
    service = service_factory(status="suspended", suspension_reason="overdue", revision=2, applied_revision=2)

    service = services.service_suspend(service=service, reason="overdue", now=now)

    assert service.revision == 2
    assert outbox() == []


def test_a_manual_suspension_of_an_overdue_service_keeps_the_revision_but_records_staff_intent(
    service_factory, now, outbox
):
    service = service_factory(status="suspended", suspension_reason="overdue", revision=2, applied_revision=2)

    service = services.service_suspend(service=service, reason="manual", now=now)

    assert (service.suspension_reason, service.revision) == ("manual", 2)
    assert outbox(topic=NETWORK_COMMANDS) == []


def test_a_terminated_service_cannot_be_suspended_nor_reactivated(service_factory, now):
    service = service_factory(status="terminated")

    with pytest.raises(Conflict):
        services.service_suspend(service=service, reason="manual", now=now)
    with pytest.raises(Conflict):
        services.service_reactivate(service=service, now=now)


def test_reactivating_sends_the_active_state_and_clears_the_reason(service_factory, now, outbox):
    service = service_factory(status="suspended", suspension_reason="overdue", revision=2, applied_revision=2)

    service = services.service_reactivate(service=service, now=now)

    assert (service.status, service.suspension_reason, service.revision) == ("active", "", 3)
    [command] = outbox(topic=NETWORK_COMMANDS)
    assert (command["data"]["status"], command["data"]["revision"]) == ("active", 3)
    assert "kick" not in command["data"]


def test_reactivating_an_active_service_changes_nothing(service_factory, now, outbox):
    service = services.service_reactivate(service=service_factory(), now=now)

    assert service.revision == 1
    assert outbox() == []


def test_terminating_sends_the_terminated_state_once(service_factory, now, outbox):
    service = service_factory(revision=5, applied_revision=5)

    services.service_terminate(service=service, now=now)
    services.service_terminate(service=service, now=now)

    [command] = outbox(topic=NETWORK_COMMANDS)
    assert (command["data"]["status"], command["data"]["revision"]) == ("terminated", 6)


def test_a_plan_change_sends_the_new_speed_with_a_kick(service_factory, now, outbox):
    service = service_factory()

    service = services.service_update(
        service=service, plan_code="hogar-50", download="50M", upload="10M", now=now
    )

    assert service.revision == 2
    [command] = outbox(topic=NETWORK_COMMANDS)
    assert command["data"]["speed"] == {"download": "50M", "upload": "10M"}
    assert command["data"]["kick"] is True
    assert command["data"]["status"] == "active"
    # Not a status change: the portal hears about it when applied, not now.
    assert outbox(topic=NETWORK_EVENTS) == []


def test_an_update_that_changes_nothing_sends_nothing(service_factory, now, outbox):
    service = service_factory()

    service = services.service_update(service=service, download="20M", now=now)

    assert service.revision == 1
    assert outbox() == []


def test_moving_a_service_terminates_it_on_the_old_router_and_provisions_it_on_the_new(
    service_factory, router_factory, now, outbox
):
    old = router_factory(name="torre-norte", address_pool="10.20.0.0/24")
    new = router_factory(name="torre-sur", address_pool="10.30.0.0/24")
    service = service_factory(router=old, address="10.20.0.9", revision=2, applied_revision=2)

    service = services.service_update(service=service, router=new, now=now)

    leave, arrive = outbox(topic=NETWORK_COMMANDS)
    assert (leave["key"], leave["data"]["status"], leave["data"]["revision"]) == (
        "torre-norte",
        "terminated",
        3,
    )
    assert leave["data"]["address"] == "10.20.0.9"
    assert (arrive["key"], arrive["data"]["status"], arrive["data"]["revision"]) == ("torre-sur", "active", 4)
    # The old address is outside the new router's pool: a new one is allocated there.
    assert arrive["data"]["address"] == "10.30.0.2"
    assert (service.router, service.status, service.revision) == (new, ServiceStatus.PENDING, 4)


def test_diagnosing_sends_a_diagnose_command_to_the_router(service_factory, now, outbox):
    service = service_factory(pppoe_username="alice.andrade")

    diagnosis = services.service_diagnose(service=service, requested_by="7", now=now)

    [command] = outbox(topic=NETWORK_COMMANDS)
    assert command["type"] == "network.service.diagnose"
    assert command["key"] == service.router.name
    assert command["data"] == {
        "request_id": str(diagnosis.request_id),
        "subscription_id": service.subscription_id,
        "router": service.router.name,
        "username": "alice.andrade",
    }
    assert diagnosis.completed_at is None


def test_reconciling_a_router_sends_one_reconcile_command(router, now, outbox):
    services.router_reconcile_request(router=router)

    [command] = outbox(topic=NETWORK_COMMANDS)
    assert (command["type"], command["key"], command["data"]) == (
        "network.router.reconcile",
        "torre-norte",
        {"router": "torre-norte"},
    )
