"""Kafka handlers, delivered as the runner does: through the inbox, in one transaction."""

from __future__ import annotations

import uuid

import pytest

from backoffice.network import services
from backoffice.network.models import Diagnosis, Service, ServiceCommand
from enlace_messaging.catalog import NETWORK_COMMANDS, NETWORK_EVENTS
from enlace_messaging.envelope import Envelope
from enlace_messaging.errors import PermanentFailure

pytestmark = pytest.mark.django_db(databases=["default", "network"])


def _message(type: str, **data) -> Envelope:
    source = type.split(".")[0]
    return Envelope.new(type=type, data=data, source=source if source != "network" else "netagent")


def _applied(service, command, *, online=True, status="active") -> Envelope:
    return _message(
        "network.command.applied",
        command_id=str(command.command_id),
        subscription_id=service.subscription_id,
        router=command.router_name,
        revision=command.revision,
        status=status,
        online=online,
    )


# --- results ---------------------------------------------------------------------------------------


def test_an_applied_result_records_the_revision_and_activates_a_pending_service(router, now, outbox, deliver):
    service = services.service_create(
        subscription_id=501,
        client_id=1,
        router=router,
        pppoe_username="alice",
        pppoe_password="x",
        plan_code="hogar-20",
        download="20M",
        upload="5M",
        now=now,
    )
    command = ServiceCommand.objects.get(service=service)

    deliver("network-results", _applied(service, command))

    service.refresh_from_db()
    command.refresh_from_db()
    assert (service.status, service.applied_revision, service.last_result, service.online) == (
        "active",
        1,
        "ok",
        True,
    )
    assert service.last_seen_at == now
    assert (command.result, command.result_at) == ("applied", now)
    router.refresh_from_db()
    assert (router.is_up, router.last_seen_at) == (True, now)


def test_the_portal_hears_when_the_router_applied_the_change(service_factory, now, outbox, deliver):
    service = services.service_suspend(service=service_factory(subscription_id=9), reason="overdue", now=now)
    command = ServiceCommand.objects.get(service=service)

    deliver("network-results", _applied(service, command, status="suspended", online=False))

    pending, applied = outbox(topic=NETWORK_EVENTS)
    assert pending["data"]["applied"] is False
    assert applied["key"] == "9"
    assert applied["data"] == {
        "subscription_id": 9,
        "client_id": 1,
        "status": "suspended",
        "reason": "overdue",
        "online": False,
        "applied": True,
        "revision": 2,
    }
    assert applied["causation_id"] is not None


def test_a_result_older_than_the_applied_revision_is_ignored(service_factory, now, deliver):
    service = service_factory(revision=1, applied_revision=1)
    services.service_suspend(service=service, reason="manual", now=now)
    services.service_reactivate(service=service, now=now)
    suspend, reactivate = ServiceCommand.objects.filter(service=service).order_by("revision")
    deliver("network-results", _applied(service, reactivate, online=True))

    # The suspension's result arrives late (redelivered or reordered).
    deliver("network-results", _applied(service, suspend, status="suspended", online=False))

    service.refresh_from_db()
    assert (service.applied_revision, service.online, service.status) == (3, True, "active")


def test_a_redelivered_result_changes_nothing(service_factory, now, outbox, deliver):
    service = services.service_suspend(service=service_factory(), reason="manual", now=now)
    message = _applied(service, ServiceCommand.objects.get(service=service), status="suspended")

    assert deliver("network-results", message) is True
    assert deliver("network-results", message) is False

    assert len(outbox(topic=NETWORK_EVENTS)) == 2


def test_a_failed_command_is_recorded_with_the_router_message(service_factory, now, outbox, deliver):
    service = services.service_suspend(service=service_factory(subscription_id=9), reason="overdue", now=now)
    command = ServiceCommand.objects.get(service=service)

    deliver(
        "network-results",
        _message(
            "network.command.failed",
            command_id=str(command.command_id),
            subscription_id=9,
            router=command.router_name,
            revision=2,
            error="failure: already have such address",
            permanent=True,
        ),
    )

    service.refresh_from_db()
    command.refresh_from_db()
    assert (service.last_result, service.last_result_message) == (
        "failed",
        "failure: already have such address",
    )
    assert service.applied_revision == 1
    assert (command.result, command.error) == ("failed", "failure: already have such address")
    event = outbox(topic=NETWORK_EVENTS)[-1]
    assert (event["data"]["applied"], event["data"]["error"]) == (False, "failure: already have such address")


def test_a_failure_of_a_revision_already_superseded_by_an_applied_one_is_ignored(
    service_factory, now, deliver
):
    service = service_factory(revision=4, applied_revision=4)

    deliver(
        "network-results",
        _message(
            "network.command.failed",
            command_id="00000000-0000-4000-8000-000000000000",
            subscription_id=service.subscription_id,
            router=service.router.name,
            revision=3,
            error="timeout",
            permanent=False,
        ),
    )

    service.refresh_from_db()
    assert service.last_result == ""


def test_a_completed_diagnosis_is_stored_for_the_api_to_return(service_factory, now, deliver):
    service = service_factory()
    diagnosis = services.service_diagnose(service=service, requested_by="7", now=now)

    deliver(
        "network-results",
        _message(
            "network.diagnosis.completed",
            request_id=str(diagnosis.request_id),
            subscription_id=service.subscription_id,
            router=service.router.name,
            online=True,
            address="10.20.0.15",
            uptime="3h12m",
            caller_id="AA:BB:CC:00:11:22",
        ),
    )

    diagnosis = Diagnosis.objects.get(pk=diagnosis.pk)
    assert (diagnosis.completed_at, diagnosis.online, diagnosis.uptime) == (now, True, "3h12m")
    service.refresh_from_db()
    assert service.online is True


# --- billing --------------------------------------------------------------------------------------


def test_an_overdue_account_suspends_only_that_clients_live_services(service_factory, now, outbox, deliver):
    alice_home = service_factory(client_id=1, subscription_id=11)
    alice_shop = service_factory(client_id=1, subscription_id=12)
    alice_old = service_factory(client_id=1, subscription_id=13, status="terminated")
    charlie_home = service_factory(client_id=2, subscription_id=21)

    deliver("network-billing", _message("billing.account.overdue", client_id=1, balance="25.30"))

    statuses = dict(Service.objects.values_list("subscription_id", "status"))
    assert statuses == {11: "suspended", 12: "suspended", 13: "terminated", 21: "active"}
    assert Service.objects.get(pk=alice_home.pk).suspension_reason == "overdue"
    assert sorted(c["data"]["subscription_id"] for c in outbox(topic=NETWORK_COMMANDS)) == [11, 12]
    assert alice_shop and alice_old and charlie_home


def test_an_overdue_account_suspends_only_the_listed_subscriptions(service_factory, now, deliver):
    service_factory(client_id=1, subscription_id=11)
    service_factory(client_id=1, subscription_id=12)

    deliver("network-billing", _message("billing.account.overdue", client_id=1, subscription_ids=[12]))

    assert dict(Service.objects.values_list("subscription_id", "status")) == {11: "active", 12: "suspended"}


def test_a_settled_account_reactivates_overdue_services_but_not_manual_suspensions(
    service_factory, now, outbox, deliver
):
    service_factory(client_id=1, subscription_id=11, status="suspended", suspension_reason="overdue")
    service_factory(client_id=1, subscription_id=12, status="suspended", suspension_reason="manual")
    service_factory(client_id=2, subscription_id=21, status="suspended", suspension_reason="overdue")

    deliver("network-billing", _message("billing.account.settled", client_id=1, balance="0.00"))

    assert dict(Service.objects.values_list("subscription_id", "status")) == {
        11: "active",
        12: "suspended",
        21: "suspended",
    }
    [command] = outbox(topic=NETWORK_COMMANDS)
    assert (command["data"]["subscription_id"], command["data"]["status"]) == (11, "active")


def test_staff_suspending_an_overdue_service_keeps_it_down_after_payment(service_factory, now, deliver):
    service = service_factory(client_id=1, subscription_id=11)
    deliver("network-billing", _message("billing.account.overdue", client_id=1))
    services.service_suspend(service=service, reason="manual", now=now)

    deliver("network-billing", _message("billing.account.settled", client_id=1))

    service.refresh_from_db()
    assert (service.status, service.suspension_reason) == ("suspended", "manual")


def test_an_overdue_run_suspends_every_client_once_each_with_its_kick_and_its_event(
    service_factory, now, outbox, deliver_run
):
    for client_id in (1, 2, 3):
        service_factory(client_id=client_id, subscription_id=10 * client_id)
    service_factory(client_id=3, subscription_id=31, status="suspended", suspension_reason="manual")
    run = [_message("billing.account.overdue", client_id=c) for c in (1, 2, 3)]

    assert deliver_run("network-billing", run) == 3
    assert deliver_run("network-billing", run) == 0  # redelivered: nothing more

    assert dict(Service.objects.values_list("subscription_id", "status")) == {
        10: "suspended",
        20: "suspended",
        30: "suspended",
        31: "suspended",
    }
    assert Service.objects.get(subscription_id=31).suspension_reason == "manual"  # untouched
    commands = outbox(topic=NETWORK_COMMANDS)
    assert [(c["data"]["subscription_id"], c["data"]["revision"], c["data"]["kick"]) for c in commands] == [
        (10, 2, True),
        (20, 2, True),
        (30, 2, True),
    ]
    # Each caused by its own client's event, and each in the command history.
    assert [c["causation_id"] for c in commands] == [e.id for e in run]
    assert sorted(
        ServiceCommand.objects.values_list("service__subscription_id", "revision", "kind", "command_id")
    ) == sorted((c["data"]["subscription_id"], 2, "suspend", uuid.UUID(c["id"])) for c in commands)
    events = outbox(topic=NETWORK_EVENTS)
    assert [(e["key"], e["data"]["status"], e["data"]["applied"]) for e in events] == [
        ("10", "suspended", False),
        ("20", "suspended", False),
        ("30", "suspended", False),
    ]


def test_a_run_that_names_a_client_twice_is_applied_in_order(service_factory, now, outbox, deliver_run):
    service_factory(client_id=1, subscription_id=11)
    service_factory(client_id=2, subscription_id=21)
    run = [
        _message("billing.account.overdue", client_id=1),
        _message("billing.account.overdue", client_id=2),
        _message("billing.account.settled", client_id=1),
        _message("billing.account.overdue", client_id=1),
        _message("billing.account.settled", client_id=2),
    ]

    assert deliver_run("network-billing", run) == 5

    commands = [
        (c["data"]["subscription_id"], c["data"]["revision"], c["data"]["status"])
        for c in outbox(topic=NETWORK_COMMANDS)
    ]
    assert commands == [
        (11, 2, "suspended"),
        (21, 2, "suspended"),
        (11, 3, "active"),
        (11, 4, "suspended"),
        (21, 3, "active"),
    ]
    assert dict(Service.objects.values_list("subscription_id", "revision")) == {11: 4, 21: 3}
    assert dict(Service.objects.values_list("subscription_id", "status")) == {11: "suspended", 21: "active"}


def test_a_run_of_results_records_each_and_ignores_stale_and_unknown_ones(
    service_factory, now, outbox, deliver_run
):
    fresh = [
        services.service_suspend(service=service_factory(subscription_id=n), reason="overdue", now=now)
        for n in (1, 2, 3)
    ]
    commands = {c.service.subscription_id: c for c in ServiceCommand.objects.select_related("service")}
    stale = service_factory(subscription_id=4, revision=5, applied_revision=5)
    outbox_before = len(outbox(topic=NETWORK_EVENTS))
    run = [_applied(s, commands[s.subscription_id], status="suspended", online=False) for s in fresh]
    run.append(
        _message(
            "network.command.applied",
            command_id=str(uuid.uuid4()),
            subscription_id=4,
            router=stale.router.name,
            revision=3,
            status="active",
        )
    )
    run.append(
        _message(
            "network.command.applied",
            command_id=str(uuid.uuid4()),
            subscription_id=999,
            router="torre-x",
            revision=1,
            status="active",
        )
    )
    # The same subscription twice (a newer revision's result right behind): a run each.
    run.append(_applied(fresh[0], commands[1], status="suspended", online=True))

    assert deliver_run("network-results", run) == 6

    rows = {s.subscription_id: s for s in Service.objects.all()}
    assert [(rows[n].applied_revision, rows[n].online, rows[n].last_result) for n in (1, 2, 3)] == [
        (2, True, "ok"),
        (2, False, "ok"),
        (2, False, "ok"),
    ]
    assert (rows[4].applied_revision, rows[4].last_result) == (5, "")  # the stale result changed nothing
    assert set(ServiceCommand.objects.values_list("result", flat=True)) == {"applied"}
    applied_events = outbox(topic=NETWORK_EVENTS)[outbox_before:]
    # One per service whose suspension is now in place, and one more when 1 came online.
    assert [(e["key"], e["data"]["applied"], e["data"]["online"]) for e in applied_events] == [
        ("1", True, False),
        ("2", True, False),
        ("3", True, False),
        ("1", True, True),
    ]


# --- clients ---------------------------------------------------------------------------------------


def _created(router_name: str = "torre-norte", **overrides) -> Envelope:
    data = {
        "subscription_id": 501,
        "client_id": 1,
        "router": router_name,
        "pppoe_username": "alice.andrade",
        "pppoe_password": "clave",
        "address": None,
        "plan": {"code": "hogar-20", "download": "20M", "upload": "5M"},
    }
    data.update(overrides)
    return _message("clients.subscription.created", **data)


def test_a_new_subscription_is_provisioned_once(router, now, outbox, deliver):
    deliver("network-clients", _created())
    # The clients service may publish it again (a retried request): a different message id.
    deliver("network-clients", _created())

    service = Service.objects.get(subscription_id=501)
    assert (service.status, service.address, service.download) == ("pending", "10.20.0.2", "20M")
    [command] = outbox(topic=NETWORK_COMMANDS)
    assert command["data"]["status"] == "active"


def test_a_new_subscription_on_an_unknown_router_goes_to_the_dead_letter_queue(db, now, deliver):
    with pytest.raises(PermanentFailure, match="unknown router"):
        deliver("network-clients", _created("torre-inexistente"))

    assert not Service.objects.exists()


def test_a_plan_change_updates_the_speed_and_kicks_the_session(service_factory, now, outbox, deliver):
    service_factory(subscription_id=501)

    deliver(
        "network-clients",
        _message(
            "clients.subscription.plan_changed",
            subscription_id=501,
            client_id=1,
            plan={"code": "hogar-50", "download": "50M", "upload": "10M"},
        ),
    )

    service = Service.objects.get(subscription_id=501)
    assert (service.plan_code, service.download, service.upload, service.revision) == (
        "hogar-50",
        "50M",
        "10M",
        2,
    )
    [command] = outbox(topic=NETWORK_COMMANDS)
    assert command["data"]["kick"] is True


def test_a_cancelled_subscription_is_terminated(service_factory, now, outbox, deliver):
    service_factory(subscription_id=501)

    deliver("network-clients", _message("clients.subscription.cancelled", subscription_id=501, client_id=1))

    assert Service.objects.get(subscription_id=501).status == "terminated"
    [command] = outbox(topic=NETWORK_COMMANDS)
    assert command["data"]["status"] == "terminated"


def test_a_moved_subscription_leaves_its_router_and_is_provisioned_on_the_new_one(
    service_factory, router_factory, now, outbox, deliver
):
    old = router_factory(name="torre-norte")
    router_factory(name="torre-sur", address_pool="10.21.0.0/24")
    service_factory(subscription_id=501, router=old, address="10.20.0.7")

    deliver(
        "network-clients",
        _message(
            "clients.subscription.moved",
            subscription_id=501,
            client_id=1,
            router="torre-sur",
            address="10.21.0.9",
        ),
    )

    service = Service.objects.select_related("router").get(subscription_id=501)
    assert (service.router.name, service.address) == ("torre-sur", "10.21.0.9")
    leave, arrive = outbox(topic=NETWORK_COMMANDS)
    assert (leave["key"], leave["data"]["status"]) == ("torre-norte", "terminated")
    assert (arrive["key"], arrive["data"]["address"]) == ("torre-sur", "10.21.0.9")


def test_a_move_to_an_unknown_router_goes_to_the_dead_letter_queue(service_factory, now, deliver):
    service_factory(subscription_id=501)

    with pytest.raises(PermanentFailure, match="unknown router"):
        deliver(
            "network-clients",
            _message("clients.subscription.moved", subscription_id=501, client_id=1, router="torre-x"),
        )
