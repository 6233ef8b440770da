"""RouterOS API wire protocol: word lengths, words and sentences.

A *word* is a length prefix followed by that many bytes. A *sentence* is a
sequence of words terminated by the zero-length word. The length prefix uses
one of five encodings (see :func:`encode_length`).

Words are exchanged as ``bytes`` on the wire; inside the emulator they are
``str`` decoded with UTF-8 and ``surrogateescape`` so that arbitrary bytes
(RouterOS itself is byte-oriented, not UTF-8 aware) round-trip unchanged.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "ConnectionClosed",
    "ProtocolError",
    "SentenceReader",
    "decode_length",
    "decode_word",
    "encode_length",
    "encode_sentence",
    "encode_word",
    "parse_length_prefix",
    "sentence_words",
    "to_bytes",
    "to_str",
]

# Largest length each encoding can carry (exclusive upper bounds).
_ONE_BYTE_LIMIT = 0x80
_TWO_BYTE_LIMIT = 0x4000
_THREE_BYTE_LIMIT = 0x200000
_FOUR_BYTE_LIMIT = 0x10000000
_FIVE_BYTE_LIMIT = 0x100000000


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid RouterOS API sentence."""


class ConnectionClosed(Exception):
    """The peer closed the connection (EOF) while we were reading."""


def to_bytes(word: str | bytes) -> bytes:
    """Return ``word`` as bytes (str is encoded UTF-8, surrogateescape)."""
    if isinstance(word, bytes):
        return word
    return word.encode("utf-8", "surrogateescape")


def to_str(word: bytes) -> str:
    """Return ``word`` as str, reversibly (see :func:`to_bytes`)."""
    return word.decode("utf-8", "surrogateescape")


def encode_length(length: int) -> bytes:
    """Encode a word length with the shortest of the five RouterOS encodings.

    ``< 0x80`` → 1 byte; ``< 0x4000`` → 2 bytes with high bits ``10``;
    ``< 0x200000`` → 3 bytes, ``110``; ``< 0x10000000`` → 4 bytes, ``1110``;
    anything up to 2**32-1 → ``0xF0`` followed by 4 bytes big-endian.
    """
    if length < 0:
        raise ValueError("word length cannot be negative")
    if length < _ONE_BYTE_LIMIT:
        return bytes([length])
    if length < _TWO_BYTE_LIMIT:
        return (length | 0x8000).to_bytes(2, "big")
    if length < _THREE_BYTE_LIMIT:
        return (length | 0xC00000).to_bytes(3, "big")
    if length < _FOUR_BYTE_LIMIT:
        return (length | 0xE0000000).to_bytes(4, "big")
    if length < _FIVE_BYTE_LIMIT:
        return b"\xf0" + length.to_bytes(4, "big")
    raise ValueError("word too long for the RouterOS API")


def decode_length(read: Callable[[int], bytes]) -> int:
    """Read one length prefix using ``read(n)`` (which must return exactly n bytes).

    Raises :class:`ProtocolError` for the reserved control bytes (``0xF8``..``0xFF``).
    """
    first = read(1)[0]
    if first < 0x80:
        return first
    if first < 0xC0:
        return ((first & 0x3F) << 8) | read(1)[0]
    if first < 0xE0:
        return ((first & 0x1F) << 16) | int.from_bytes(read(2), "big")
    if first < 0xF0:
        return ((first & 0x0F) << 24) | int.from_bytes(read(3), "big")
    if first == 0xF0:
        return int.from_bytes(read(4), "big")
    raise ProtocolError(f"reserved control byte 0x{first:02X} in length prefix")


def parse_length_prefix(data: bytes) -> tuple[int, int]:
    """Decode a length prefix at the start of ``data``.

    Returns ``(length, prefix_size)``. Raises :class:`ProtocolError` if
    ``data`` is shorter than the prefix it starts.
    """
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos : pos + n]
        if len(chunk) != n:
            raise ProtocolError("truncated length prefix")
        pos += n
        return chunk

    length = decode_length(read)
    return length, pos


def encode_word(word: str | bytes) -> bytes:
    """Return the length-prefixed encoding of one word."""
    raw = to_bytes(word)
    return encode_length(len(raw)) + raw


def decode_word(data: bytes) -> tuple[bytes, int]:
    """Decode one word at the start of ``data``; return ``(word, bytes_consumed)``."""
    length, offset = parse_length_prefix(data)
    end = offset + length
    if len(data) < end:
        raise ProtocolError("truncated word")
    return data[offset:end], end


def encode_sentence(words: Iterable[str | bytes]) -> bytes:
    """Encode a sentence: every word followed by the terminating empty word."""
    return b"".join(encode_word(word) for word in words) + b"\x00"


class SentenceReader:
    """Reads whole sentences from a connected socket (buffered, blocking)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _read_exact(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self._sock.recv(max(65536, n - len(self._buffer)))
            if not chunk:
                raise ConnectionClosed()
            self._buffer += chunk
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def read_word(self) -> bytes:
        """Block until one complete word has arrived and return it."""
        length = decode_length(self._read_exact)
        return self._read_exact(length) if length else b""

    def read_sentence(self) -> list[str]:
        """Block until a full sentence arrived; return its words (may be empty)."""
        words: list[str] = []
        while True:
            word = self.read_word()
            if not word:
                return words
            words.append(to_str(word))


def sentence_words(words: Sequence[str]) -> dict[str, str]:
    """Return the ``=key=value`` attribute words of a reply as a dict."""
    attrs: dict[str, str] = {}
    for word in words:
        if word.startswith("="):
            key, _, value = word[1:].partition("=")
            attrs[key] = value
    return attrs
