"""Word and sentence encoding, checked against the five RouterOS length encodings."""

from __future__ import annotations

import pytest
from routeros_api import base_api

from netagent.emulator import ApiClient, RouterEmulator
from netagent.emulator.protocol import (
    ProtocolError,
    decode_word,
    encode_length,
    encode_sentence,
    encode_word,
    parse_length_prefix,
)

# (length, expected encoded prefix) at both sides of every encoding boundary.
BOUNDARIES = [
    (0x00, b"\x00"),
    (0x7F, b"\x7f"),
    (0x80, b"\x80\x80"),
    (0x3FFF, b"\xbf\xff"),
    (0x4000, b"\xc0\x40\x00"),
    (0x1FFFFF, b"\xdf\xff\xff"),
    (0x200000, b"\xe0\x20\x00\x00"),
    (0xFFFFFFF, b"\xef\xff\xff\xff"),
    (0x10000000, b"\xf0\x10\x00\x00\x00"),
    (0xFFFFFFFF, b"\xf0\xff\xff\xff\xff"),
]


@pytest.mark.parametrize(("length", "encoded"), BOUNDARIES)
def test_word_lengths_round_trip_at_every_encoding_boundary(length: int, encoded: bytes) -> None:
    assert encode_length(length) == encoded
    assert parse_length_prefix(encoded + b"rest") == (length, len(encoded))


@pytest.mark.parametrize(("length", "encoded"), BOUNDARIES[:-1])
def test_length_encoding_matches_the_routeros_api_client_library(length: int, encoded: bytes) -> None:
    assert base_api.encode_length(length) == encoded
    stream = iter(encoded)
    assert base_api.decode_length(lambda n: bytes(next(stream) for _ in range(n))) == length


def test_lengths_outside_the_protocol_are_rejected() -> None:
    with pytest.raises(ValueError):
        encode_length(-1)
    with pytest.raises(ValueError):
        encode_length(0x100000000)
    with pytest.raises(ProtocolError):
        parse_length_prefix(b"\xf8")
    with pytest.raises(ProtocolError):
        parse_length_prefix(b"\xc0\x40")


def test_a_sentence_is_its_words_followed_by_an_empty_word() -> None:
    data = encode_sentence(["/login", "=name=admin"])
    assert data == b"\x06/login\x0b=name=admin\x00"
    word, used = decode_word(data)
    assert word == b"/login"
    assert decode_word(data[used:])[0] == b"=name=admin"
    assert encode_word("é") == b"\x02\xc3\xa9"


@pytest.mark.parametrize("size", [0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000])
def test_a_long_comment_crosses_tcp_and_prints_back_unchanged(
    router: RouterEmulator, raw: ApiClient, size: int
) -> None:
    # The whole attribute word ("=comment=" + text) is what gets length-prefixed.
    comment = "x" * (size - len("=comment="))
    replies = raw.talk(
        "/ip/firewall/address-list/add", "=list=big", "=address=10.1.1.1", f"=comment={comment}"
    )
    assert replies[-1][0] == "!done"
    printed = raw.talk("/ip/firewall/address-list/print", "=.proplist=comment")
    assert printed[0] == ["!re", f"=comment={comment}"]
    assert router.items("/ip/firewall/address-list")[0]["comment"] == comment
