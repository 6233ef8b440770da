"""A minimal raw RouterOS API client (for tests, smoke checks and debugging).

It sends sentences exactly as given, so it can exercise what higher-level
libraries cannot express (``?#`` stacks, custom tags, ``/quit``).
"""

from __future__ import annotations

import socket
from types import TracebackType

from netagent.emulator.protocol import SentenceReader, encode_sentence

__all__ = ["ApiClient"]


class ApiClient:
    """A blocking TCP connection to a RouterOS API endpoint."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._reader = SentenceReader(self.sock)

    def send(self, *words: str) -> None:
        """Send one sentence made of ``words``."""
        self.sock.sendall(encode_sentence(words))

    def read_sentence(self) -> list[str]:
        """Block until the next reply sentence arrives and return its words."""
        return self._reader.read_sentence()

    def talk(self, *words: str) -> list[list[str]]:
        """Send a command and collect replies up to and including ``!done`` (or ``!fatal``)."""
        self.send(*words)
        replies: list[list[str]] = []
        while True:
            sentence = self.read_sentence()
            replies.append(sentence)
            if sentence and sentence[0] in ("!done", "!fatal"):
                return replies

    def login(self, name: str, password: str) -> list[list[str]]:
        """Log in with the 6.43+ plaintext flow; returns the replies (check for ``!trap``)."""
        return self.talk("/login", f"=name={name}", f"=password={password}")

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
