"""The routeros-api client library against the emulator over real TCP."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import routeros_api
from routeros_api.api import RouterOsApi
from routeros_api.exceptions import RouterOsApiCommunicationError

from netagent.emulator import ApiClient, RouterEmulator

PoolFactory = Callable[..., routeros_api.RouterOsApiPool]


def trap_message(excinfo: pytest.ExceptionInfo[RouterOsApiCommunicationError]) -> bytes:
    message: bytes = excinfo.value.original_message
    return message


def test_routeros_api_logs_in_with_the_plaintext_flow(api: RouterOsApi) -> None:
    assert api.get_resource("/system/identity").get() == [{"name": "r1"}]


def test_bad_credentials_are_refused_with_the_real_routeros_message(make_pool: PoolFactory) -> None:
    pool = make_pool(password="wrong")
    with pytest.raises(RouterOsApiCommunicationError) as excinfo:
        pool.get_api()
    assert trap_message(excinfo) == b"invalid user name or password (6)"


def test_bad_login_is_a_trap_then_done_on_the_wire(router: RouterEmulator) -> None:
    with ApiClient("127.0.0.1", router.port) as client:
        assert client.login("admin", "nope") == [
            ["!trap", "=message=invalid user name or password (6)"],
            ["!done"],
        ]


def test_commands_before_login_are_refused(router: RouterEmulator) -> None:
    with ApiClient("127.0.0.1", router.port) as client:
        replies = client.talk("/ppp/secret/print")
        assert replies[0][0] == "!trap"
        assert replies[-1] == ["!done"]


def test_add_returns_the_new_id_and_print_shows_the_item(api: RouterOsApi, router: RouterEmulator) -> None:
    secrets = api.get_resource("/ppp/secret")
    response = api.get_binary_resource("/ppp/secret").call("add", {"name": b"cpe1", "password": b"pw"})
    assert response.done_message == {"ret": b"*1"}
    secrets.add(name="cpe2", password="pw2", service="pppoe", remote_address="10.0.0.2")
    rows = secrets.get()
    assert [row["name"] for row in rows] == ["cpe1", "cpe2"]
    assert rows[1]["id"] == "*2"
    assert rows[1]["remote-address"] == "10.0.0.2"
    assert rows[1]["profile"] == "default"
    assert rows[1]["disabled"] == "false"
    assert router.find("/ppp/secret", name="cpe2")[0]["service"] == "pppoe"


def test_ids_count_up_in_hex_per_router(api: RouterOsApi) -> None:
    address_list = api.get_resource("/ip/firewall/address-list")
    for index in range(11):
        address_list.add(list="l", address=f"10.0.0.{index}")
    assert address_list.get()[-1]["id"] == "*B"


def test_print_filters_with_equality_queries(api: RouterOsApi) -> None:
    address_list = api.get_resource("/ip/firewall/address-list")
    address_list.add(list="suspended", address="10.0.0.1")
    address_list.add(list="suspended", address="10.0.0.2")
    address_list.add(list="allowed", address="10.0.0.3")
    assert [r["address"] for r in address_list.get(list="suspended")] == ["10.0.0.1", "10.0.0.2"]
    assert address_list.get(list="suspended", address="10.0.0.2")[0]["id"] == "*2"


def test_a_compound_query_with_or_and_not_selects_items(raw: ApiClient) -> None:
    for index, name in enumerate(("a", "b", "c"), start=1):
        raw.talk("/queue/simple/add", f"=name={name}", f"=target=10.0.0.{index}")
    replies = raw.talk("/queue/simple/print", "?name=a", "?name=c", "?#|", "=.proplist=name")
    assert replies == [["!re", "=name=a"], ["!re", "=name=c"], ["!done"]]
    replies = raw.talk("/queue/simple/print", "?name=a", "?name=c", "?#|!", "=.proplist=name")
    assert replies == [["!re", "=name=b"], ["!done"]]
    replies = raw.talk("/queue/simple/print", "?-comment", "?<name=b", "?#&", "=.proplist=name")
    assert replies == [["!re", "=name=a"], ["!done"]]


def test_set_changes_an_item_by_id_or_numbers(api: RouterOsApi, raw: ApiClient) -> None:
    secrets = api.get_resource("/ppp/secret")
    secrets.add(name="cpe1", password="pw")
    secrets.set(id="*1", password="new", comment="moved")
    assert secrets.get(name="cpe1")[0]["password"] == "new"
    assert raw.talk("/ppp/secret/set", "=numbers=cpe1", "=comment=by name") == [["!done"]]
    assert secrets.get()[0]["comment"] == "by name"


def test_unset_removes_an_optional_property(api: RouterOsApi) -> None:
    secrets = api.get_resource("/ppp/secret")
    secrets.add(name="cpe1", remote_address="10.0.0.9", comment="x")
    api.get_binary_resource("/ppp/secret").call("unset", {"id": b"*1", "value-name": b"remote-address"})
    row = secrets.get()[0]
    assert "remote-address" not in row
    assert row["comment"] == "x"


def test_remove_accepts_a_comma_separated_id_list(api: RouterOsApi, router: RouterEmulator) -> None:
    address_list = api.get_resource("/ip/firewall/address-list")
    for last in (1, 2, 3):
        address_list.add(list="l", address=f"10.0.0.{last}")
    address_list.remove(id="*1,*3")
    assert [r["address"] for r in router.items("/ip/firewall/address-list")] == ["10.0.0.2"]


@pytest.mark.parametrize(
    ("path", "first", "second", "message"),
    [
        (
            "/ip/firewall/address-list",
            {"list": "l", "address": "10.0.0.1"},
            {"list": "l", "address": "10.0.0.1"},
            b"failure: already have such entry",
        ),
        ("/ppp/secret", {"name": "x"}, {"name": "x"}, b"failure: secret with the same name already exists"),
        ("/ppp/profile", {"name": "p"}, {"name": "p"}, b"failure: already have such name"),
        (
            "/queue/simple",
            {"name": "q", "target": "10.0.0.1"},
            {"name": "q", "target": "10.0.0.2"},
            b"failure: already have such name",
        ),
    ],
)
def test_duplicates_are_refused_with_the_routeros_error_text(
    api: RouterOsApi, path: str, first: dict[str, str], second: dict[str, str], message: bytes
) -> None:
    resource = api.get_resource(path)
    resource.add(**first)
    with pytest.raises(RouterOsApiCommunicationError) as excinfo:
        resource.add(**second)
    assert trap_message(excinfo) == message


def test_missing_items_in_set_and_remove_are_no_such_item(api: RouterOsApi) -> None:
    secrets = api.get_resource("/ppp/secret")
    with pytest.raises(RouterOsApiCommunicationError) as excinfo:
        secrets.set(id="*99", password="x")
    assert trap_message(excinfo) == b"no such item"
    with pytest.raises(RouterOsApiCommunicationError) as excinfo:
        secrets.remove(id="*99")
    assert trap_message(excinfo) == b"no such item"


def test_unknown_menu_command_and_parameter_get_routeros_errors(api: RouterOsApi, raw: ApiClient) -> None:
    with pytest.raises(RouterOsApiCommunicationError) as excinfo:
        api.get_resource("/ip/nothing").get()
    assert trap_message(excinfo) == b"no such command prefix"
    assert raw.talk("/ip/nothing/print") == [
        ["!trap", "=message=no such command or directory (nothing)"],
        ["!trap", "=message=no such command prefix"],
        ["!done"],
    ]
    assert raw.talk("/ppp/secret/frobnicate") == [["!trap", "=message=no such command"], ["!done"]]
    with pytest.raises(RouterOsApiCommunicationError) as excinfo:
        api.get_resource("/ppp/secret").add(name="x", colour="blue")
    assert trap_message(excinfo) == b"unknown parameter"


def test_a_secret_must_reference_an_existing_profile(api: RouterOsApi) -> None:
    with pytest.raises(RouterOsApiCommunicationError) as excinfo:
        api.get_resource("/ppp/secret").add(name="x", profile="gold")
    assert trap_message(excinfo) == b"input does not match any value of profile"
    api.get_resource("/ppp/profile").add(name="gold", rate_limit="10M/20M")
    api.get_resource("/ppp/secret").add(name="x", profile="gold")


def test_default_profiles_exist_at_start(api: RouterOsApi) -> None:
    profiles = api.get_resource("/ppp/profile").get()
    assert [(p["id"], p["name"], p["default"]) for p in profiles] == [
        ("*0", "default", "true"),
        ("*FFFFFFFE", "default-encryption", "true"),
    ]


def test_every_reply_sentence_echoes_the_command_tag(raw: ApiClient) -> None:
    raw.talk("/ppp/profile/add", "=name=p1")
    replies = raw.talk("/ppp/profile/print", "?name=p1", "=.proplist=name", ".tag=42")
    assert replies == [["!re", ".tag=42", "=name=p1"], ["!done", ".tag=42"]]
    replies = raw.talk("/ppp/profile/add", "=name=p1", ".tag=x7")
    assert replies == [
        ["!trap", ".tag=x7", "=message=failure: already have such name"],
        ["!done", ".tag=x7"],
    ]


def test_empty_mode_answers_an_empty_print_with_empty_then_done(
    router: RouterEmulator, api: RouterOsApi, raw: ApiClient
) -> None:
    assert raw.talk("/ppp/secret/print", ".tag=1") == [["!done", ".tag=1"]]
    router.empty_replies = True
    assert raw.talk("/ppp/secret/print", ".tag=2") == [["!empty", ".tag=2"], ["!done", ".tag=2"]]
    # routeros-api understands !empty: it simply yields no rows.
    assert api.get_resource("/ppp/secret").get() == []
    api.get_resource("/ppp/secret").add(name="x")
    assert len(api.get_resource("/ppp/secret").get()) == 1


def test_proplist_limits_the_printed_properties(api: RouterOsApi) -> None:
    api.get_resource("/ppp/secret").add(name="x", password="p")
    rows = api.get_binary_resource("/ppp/secret").call("print", {".proplist": b".id,name"})
    assert list(rows) == [{"id": b"*1", "name": b"x"}]


def test_count_only_returns_the_number_of_matches(api: RouterOsApi, raw: ApiClient) -> None:
    for name in ("a", "b"):
        api.get_resource("/ppp/secret").add(name=name)
    assert raw.talk("/ppp/secret/print", "=count-only=", "?name=a") == [["!done", "=ret=1"]]


def test_rates_and_targets_are_normalised_as_routeros_prints_them(api: RouterOsApi) -> None:
    api.get_resource("/ppp/profile").add(name="plan", rate_limit="10M/20M")
    assert api.get_resource("/ppp/profile").get(name="plan")[0]["rate-limit"] == "10000000/20000000"
    queues = api.get_resource("/queue/simple")
    queues.add(name="q1", target="10.0.0.5", max_limit="10M/5M", limit_at="512k")
    row = queues.get(name="q1")[0]
    assert row["target"] == "10.0.0.5/32"
    assert row["max-limit"] == "10000000/5000000"
    assert row["limit-at"] == "512000/512000"
    api.get_resource("/ip/firewall/address-list").add(list="l", address="10.0.0.5")
    assert api.get_resource("/ip/firewall/address-list").get()[0]["address"] == "10.0.0.5"


def test_booleans_are_accepted_as_yes_no_and_printed_true_false(api: RouterOsApi) -> None:
    secrets = api.get_resource("/ppp/secret")
    secrets.add(name="x", disabled="yes")
    assert secrets.get()[0]["disabled"] == "true"
    secrets.set(id="*1", disabled="false")
    assert secrets.get(disabled="no")[0]["disabled"] == "false"


def test_identity_and_resource_menus_print_router_facts(api: RouterOsApi, router: RouterEmulator) -> None:
    api.get_binary_resource("/system/identity").call("set", {"name": b"core-1"})
    assert api.get_resource("/system/identity").get() == [{"name": "core-1"}]
    assert router.state.identity == "core-1"
    resource = api.get_resource("/system/resource").get()[0]
    assert resource["version"].startswith("7.16")
    for key in ("uptime", "cpu-load", "free-memory", "board-name", "total-memory"):
        assert key in resource


def test_quit_ends_the_session_with_fatal(raw: ApiClient) -> None:
    assert raw.talk("/quit") == [["!fatal", "session terminated on request"]]


def test_many_clients_work_concurrently(router: RouterEmulator, make_pool: PoolFactory) -> None:
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            pool = make_pool()
            api = pool.get_api()
            resource = api.get_resource("/ip/firewall/address-list")
            for last in range(10):
                resource.add(list=f"l{index}", address=f"10.{index}.0.{last}")
            assert len(resource.get(list=f"l{index}")) == 10
            pool.disconnect()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(router.items("/ip/firewall/address-list")) == 80
