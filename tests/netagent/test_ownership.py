"""The netagent touches only router items Enlace created, matched by their ``enlace:`` comment.

A forged (or mistaken) ``network.service.desired`` naming a PPP secret, queue or suspension
entry someone made by hand fails for good and leaves that item exactly as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest

from netagent.agent import Netagent
from netagent.apply import ApplySettings, DesiredService, ForeignItem, router_reconcile, service_apply
from netagent.emulator import RouterEmulator
from netagent.routeros import RouterClient
from tests.netagent.support import Bus, desired, router_config

SETTINGS = ApplySettings()
FAILED = "network.command.failed"
APPLIED = "network.command.applied"

StartAgent = Callable[..., Netagent]


@pytest.fixture
def client(r1: RouterEmulator) -> Iterator[RouterClient]:
    client = RouterClient(router_config("r1", r1))
    yield client
    client.close()


def service(subscription_id: int = 7, **changes: object) -> DesiredService:
    return DesiredService.from_data(desired(subscription_id, **changes).data)  # type: ignore[arg-type]


def everything(router: RouterEmulator) -> tuple[list[dict[str, str]], ...]:
    return (
        router.items("/ppp/secret"),
        router.items("/queue/simple"),
        router.items("/ip/firewall/address-list"),
        router.items("/ppp/profile"),
    )


def test_a_hand_made_secret_with_the_commanded_name_is_left_untouched(
    client: RouterClient, r1: RouterEmulator
) -> None:
    r1.add("/ppp/secret", name="gerencia", password="their-own", profile="default", comment="oficina")
    before = everything(r1)

    with pytest.raises(ForeignItem) as refused:
        service_apply(client, service(username="gerencia"), SETTINGS, previous=None, replay=False)

    assert refused.value.permanent
    assert "/ppp/secret gerencia was not created by Enlace" in refused.value.message
    assert everything(r1) == before


def test_a_secret_of_another_subscription_is_not_taken_over(client: RouterClient, r1: RouterEmulator) -> None:
    service_apply(client, service(7), SETTINGS, previous=None, replay=False)
    before = everything(r1)

    with pytest.raises(ForeignItem):
        service_apply(client, service(8, username="cliente7"), SETTINGS, previous=None, replay=False)

    assert everything(r1) == before


def test_a_hand_made_queue_with_the_managed_name_is_left_untouched(
    client: RouterClient, r1: RouterEmulator
) -> None:
    r1.add("/queue/simple", name="enlace-cliente7", target="10.9.9.9", max_limit="1M/1M")
    queue_before = r1.items("/queue/simple")

    with pytest.raises(ForeignItem, match="/queue/simple enlace-cliente7"):
        service_apply(client, service(7), SETTINGS, previous=None, replay=False)

    assert r1.items("/queue/simple") == queue_before


def test_reactivating_never_removes_a_suspension_entry_put_there_by_hand(
    client: RouterClient, r1: RouterEmulator
) -> None:
    r1.add("/ip/firewall/address-list", list="morosos", address="10.20.0.7", comment="bloqueo manual")
    entries_before = r1.items("/ip/firewall/address-list")

    with pytest.raises(ForeignItem, match=re.escape("/ip/firewall/address-list 10.20.0.7")):
        service_apply(client, service(7, status="active"), SETTINGS, previous=None, replay=False)

    assert r1.items("/ip/firewall/address-list") == entries_before


def test_terminating_a_hand_made_secret_removes_nothing(client: RouterClient, r1: RouterEmulator) -> None:
    r1.add("/ppp/secret", name="gerencia", password="their-own", comment="")
    before = everything(r1)

    with pytest.raises(ForeignItem):
        service_apply(
            client,
            service(7, username="gerencia", status="terminated"),
            SETTINGS,
            previous=None,
            replay=False,
        )

    assert everything(r1) == before


def test_a_plan_profile_made_by_hand_is_not_rewritten_in_profile_mode(
    client: RouterClient, r1: RouterEmulator
) -> None:
    r1.add("/ppp/profile", name="enlace-20M-5M", rate_limit="1M/1M")
    profiles_before = r1.items("/ppp/profile")

    with pytest.raises(ForeignItem, match="/ppp/profile enlace-20M-5M"):
        service_apply(client, service(7), ApplySettings(speed_mode="profile"), previous=None, replay=False)

    assert r1.items("/ppp/profile") == profiles_before


def test_a_reconcile_skips_a_subscription_whose_secret_is_not_ours_and_repairs_the_others(
    client: RouterClient, r1: RouterEmulator
) -> None:
    mine, theirs = service(7), service(8)
    service_apply(client, mine, SETTINGS, previous=None, replay=False)
    service_apply(client, theirs, SETTINGS, previous=None, replay=False)
    # An operator re-labels subscriber 8's secret for something of their own and disables 7's.
    r1.state.run("/ppp/secret/set", {"numbers": "cliente8", "comment": "reservado"}, [])
    r1.state.run("/ppp/secret/disable", {"numbers": "cliente7"}, [])

    repaired = router_reconcile(client, [theirs, mine], SETTINGS)

    assert repaired == ["sub 7: secret cliente7 updated (disabled)"]
    assert r1.find("/ppp/secret", name="cliente8")[0]["comment"] == "reservado"


def test_a_forged_command_naming_a_secret_enlace_did_not_create_fails_for_good_and_leaves_it(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    r1.add("/ppp/secret", name="gerencia", password="their-own", profile="default", comment="oficina")
    before = everything(r1)

    forged = bus.send(desired(66, username="gerencia", status="terminated"))
    also_forged = bus.send(desired(67, username="gerencia"))
    honest = bus.send(desired(68))

    failed = bus.result(FAILED, command_id=forged.id)
    bus.result(FAILED, command_id=also_forged.id)
    bus.result(APPLIED, command_id=honest.id)
    assert failed.data["permanent"] is True
    assert "/ppp/secret gerencia was not created by Enlace" in failed.data["error"]
    dead = bus.dead_letter()
    assert json.loads(dead.value)["id"] == forged.id
    assert b"not created by Enlace" in dead.headers["dlq-reason"]
    secrets, queues, entries, profiles = everything(r1)
    assert [s for s in secrets if s["name"] == "gerencia"] == [
        s for s in before[0] if s["name"] == "gerencia"
    ]
    assert [q["name"] for q in queues] == ["enlace-cliente68"]
    assert (entries, profiles) == (before[2], before[3])


def test_a_dead_lettered_command_keeps_no_pppoe_password_in_clear(
    bus: Bus, start_agent: StartAgent, r1: RouterEmulator
) -> None:
    start_agent()
    refused = bus.send(desired(69, profile="no-such-plan"))

    bus.result(FAILED, command_id=refused.id)
    dead = bus.dead_letter()

    assert b"pppoe-pass" not in dead.value
    record = json.loads(dead.value)
    assert record["id"] == refused.id
    assert record["data"]["pppoe"] == {
        "username": "cliente69",
        "password": "[redacted]",
        "profile": "no-such-plan",
    }


def test_a_replayed_redacted_command_never_sets_the_redacted_password(
    client: RouterClient, r1: RouterEmulator
) -> None:
    replayed = DesiredService.from_data(
        {**desired(7).data, "pppoe": {"username": "cliente7", "password": "[redacted]"}}
    )

    with pytest.raises(Exception, match="redacted") as refused:
        service_apply(client, replayed, SETTINGS, previous=None, replay=False)

    assert getattr(refused.value, "permanent", False)
    assert r1.items("/ppp/secret") == []
