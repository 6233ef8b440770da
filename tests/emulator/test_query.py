"""The stack-based print query language, evaluated without the network."""

from __future__ import annotations

import pytest

from netagent.emulator import Query, QueryError

ITEMS = [
    {".id": "*1", "name": "a", "type": "ether", "disabled": "false", "mtu": "1500"},
    {".id": "*2", "name": "b", "type": "vlan", "disabled": "true", "mtu": "1400"},
    {".id": "*A", "name": "c", "type": "ether", "disabled": "true"},
]


def names(*words: str) -> list[str]:
    query = Query.parse(words)
    return [item["name"] for item in ITEMS if query.matches(item)]


def test_no_query_words_match_every_item() -> None:
    assert names() == ["a", "b", "c"]


def test_equality_has_and_has_not_queries_select_items() -> None:
    assert names("?type=ether") == ["a", "c"]
    assert names("?=type=vlan") == ["b"]
    assert names("?mtu") == ["a", "b"]
    assert names("?-mtu") == ["c"]


def test_several_query_words_are_anded() -> None:
    assert names("?type=ether", "?disabled=true") == ["c"]


def test_booleans_compare_by_meaning_and_ids_by_number() -> None:
    assert names("?disabled=no") == ["a"]
    assert names("?.id=*a") == ["c"]
    assert names("?>.id=*2") == ["c"]


def test_less_and_greater_compare_numbers_numerically() -> None:
    assert names("?<mtu=1450") == ["b"]
    assert names("?>mtu=1450") == ["a"]


def test_or_and_not_operations_combine_the_stack() -> None:
    assert names("?name=a", "?name=b", "?#|") == ["a", "b"]
    assert names("?type=ether", "?#!") == ["b"]
    assert names("?type=ether", "?disabled=true", "?#&!") == ["a", "b"]
    assert names("?name=a", "?name=b", "?name=c", "?#||") == ["a", "b", "c"]


def test_dot_duplicates_the_top_and_an_index_copies_a_stack_value() -> None:
    assert names("?type=vlan", "?#.|") == ["b"]
    # Stack: [type=ether, name=c]; "1" at the end replaces the stack with index 1 (type=ether).
    assert names("?type=ether", "?name=c", "?#1") == ["a", "c"]
    # "1|" pushes a copy of type=ether then ORs it with the top (name=c) -> stack [ether, ether|c].
    assert names("?type=ether", "?name=c", "?#1|") == ["a", "c"]


def test_malformed_queries_are_rejected() -> None:
    with pytest.raises(QueryError):
        Query.parse(["?#x"])
    with pytest.raises(QueryError):
        Query.parse(["?<mtu"]).matches(ITEMS[0])
    with pytest.raises(QueryError):
        Query.parse(["?#|"]).matches(ITEMS[0])
