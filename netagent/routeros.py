"""The one module that talks to MikroTik routers (through ``routeros-api``).

:class:`RouterClient` is one API connection to one router with four verbs (``print``, ``add``,
``set``, ``remove``) over plain strings. Every failure comes out as :class:`RouterError`, which
says whether retrying can help:

- connection refused/reset/closed, timeouts, a failed or lost login → ``permanent=False``
  (the router is down or busy; the caller backs off and retries, keeping order);
- a ``!trap`` the router answers to a command → ``permanent=True`` with the router's own text
  (``input does not match any value of profile``, ``not enough permissions``...), except:
- ``add`` of something that already exists returns None instead of failing, and ``remove`` of
  an item that is gone returns False: both mean the router already is as wanted.

A client is not thread-safe: use one per thread.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Mapping

import routeros_api
from routeros_api import exceptions as api_exceptions

from netagent.config import RouterConfig
from netagent.errors import RouterError

logger = logging.getLogger(__name__)

#: Traps of ``add`` that mean "an item with this name/address is already there".
ALREADY_EXISTS = (
    "already have such entry",
    "secret with the same name already exists",
    "already have such name",
)
NO_SUCH_ITEM = "no such item"
# A session the router forgot (it rebooted) answers this; a new login fixes it.
_NOT_LOGGED_IN = "not logged in"
_BAD_LOGIN = "invalid user name or password"


class RouterClient:
    """One lazily opened RouterOS API connection to one router; reconnects after a failure."""

    def __init__(self, config: RouterConfig, *, timeout: float | None = None) -> None:
        self.config = config
        self.name = config.name
        self.timeout = timeout if timeout is not None else config.timeout
        self._pool: routeros_api.RouterOsApiPool | None = None
        self._api: routeros_api.api.RouterOsApi | None = None

    # ------------------------------------------------------------------ the verbs

    def print(self, path: str, **query: str) -> list[dict[str, str]]:
        """Items of menu ``path`` whose properties equal ``query`` (``_`` in keys means ``-``).

        Rows carry the item's id under ``.id``. Raises RouterError.
        """
        rows = self._call(path, "print", {}, {k.replace("_", "-"): v for k, v in query.items()})
        return [_decode_row(row) for row in rows]

    def add(self, path: str, props: Mapping[str, str]) -> str | None:
        """Adds an item and returns its id, or None when the router already has such an item.

        Raises RouterError (permanent for a refused value).
        """
        try:
            response = self._call(path, "add", props, {})
        except RouterError as exc:
            if exc.permanent and any(text in exc.message for text in ALREADY_EXISTS):
                return None
            raise
        ret = response.done_message.get("ret", b"")
        return ret.decode("utf-8", "replace") if isinstance(ret, bytes) else str(ret)

    def set(self, path: str, item_id: str, props: Mapping[str, str]) -> None:
        """Changes ``props`` of item ``item_id``. Raises RouterError (permanent if it is gone)."""
        self._call(path, "set", {".id": item_id, **props}, {})

    def remove(self, path: str, item_id: str) -> bool:
        """Removes item ``item_id``; False when it was already gone. Raises RouterError."""
        try:
            self._call(path, "remove", {".id": item_id}, {})
        except RouterError as exc:
            if exc.permanent and NO_SUCH_ITEM in exc.message:
                return False
            raise
        return True

    def close(self) -> None:
        """Closes the connection (the next call opens a new one)."""
        pool, self._pool, self._api = self._pool, None, None
        if pool is not None:
            try:
                pool.disconnect()
            except OSError:
                logger.debug("%s: closing the API connection failed", self.name, exc_info=True)

    # ---------------------------------------------------------------- the wiring

    def _connect(self) -> routeros_api.api.RouterOsApi:
        if self._api is not None:
            return self._api
        cfg = self.config
        ssl_context: ssl.SSLContext | None = None
        if cfg.api_ssl:
            ssl_context = ssl.create_default_context(cafile=cfg.ssl_cafile)
            if not cfg.ssl_verify:
                ssl_context.check_hostname = False
                ssl_context.verify_mode = ssl.CERT_NONE
        pool = routeros_api.RouterOsApiPool(
            cfg.host,
            username=cfg.username,
            password=cfg.password,
            port=cfg.port,
            plaintext_login=True,
            use_ssl=cfg.api_ssl,
            ssl_context=ssl_context,
        )
        pool.socket_timeout = self.timeout
        try:
            api = pool.get_api()
        except api_exceptions.RouterOsApiCommunicationError as exc:
            pool.disconnect()
            text = _trap_text(exc)
            # Bad credentials are not the command's fault: keep the queue waiting (in order)
            # until an operator fixes the router or the config, rather than dead-letter it all.
            raise RouterError(f"login refused: {text}", permanent=False, router=self.name) from exc
        except (api_exceptions.RouterOsApiError, OSError, ssl.SSLError) as exc:
            pool.disconnect()
            raise RouterError(
                f"cannot connect to {cfg.host}:{cfg.port}: {exc or type(exc).__name__}",
                permanent=False,
                router=self.name,
            ) from exc
        _no_delay(pool)
        _buffer(pool)
        self._pool, self._api = pool, api
        return api

    def _call(self, path: str, command: str, arguments: Mapping[str, str], queries: Mapping[str, str]):  # type: ignore[no-untyped-def]
        api = self._connect()
        resource = api.get_binary_resource(path)
        encoded = {_api_key(k): v.encode("utf-8") for k, v in arguments.items()}
        encoded_queries = {_api_key(k): v.encode("utf-8") for k, v in queries.items()}
        try:
            return resource.call(command, encoded, encoded_queries)
        except api_exceptions.RouterOsApiCommunicationError as exc:
            text = _trap_text(exc)
            if _NOT_LOGGED_IN in text:
                self.close()
                raise RouterError(text, permanent=False, router=self.name) from exc
            raise RouterError(text, permanent=True, router=self.name) from exc
        except (api_exceptions.RouterOsApiError, OSError) as exc:
            # The connection is in an unknown state (half a reply may be buffered): drop it.
            self.close()
            raise RouterError(
                f"{path}/{command}: connection lost: {exc or type(exc).__name__}",
                permanent=False,
                router=self.name,
            ) from exc


def _api_key(key: str) -> str:
    # routeros-api adds the leading dot back to "id" and "proplist" itself.
    return key[1:] if key in (".id", ".proplist") else key


def _trap_text(exc: api_exceptions.RouterOsApiCommunicationError) -> str:
    message = exc.original_message
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


def _decode_row(row: Mapping[str, bytes]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in row.items():
        name = ".id" if key == "id" else key
        out[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return out


def _no_delay(pool: routeros_api.RouterOsApiPool) -> None:
    """Turns Nagle's algorithm off on the pool's API socket.

    routeros_api writes every word of a sentence with its own ``send``; with Nagle on, the
    words after the first wait for the router's ACK, which the router delays (~40 ms) because
    it answers only once the sentence is complete. That stall on every command capped a lane
    at ~10 commands per second, on real routers as on the emulator.
    """
    raw = getattr(pool.socket, "socket", None)
    if isinstance(raw, socket.socket):  # ssl.SSLSocket is one too
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            logger.debug("could not set TCP_NODELAY on the API socket", exc_info=True)


def _buffer(pool: routeros_api.RouterOsApiPool) -> None:
    """Makes the pool's socket wrapper send one segment per sentence and read in blocks.

    ``routeros_api`` sends every word with its own ``sendall`` and reads replies one byte at a
    time for each length prefix (measured: 12 ``recv`` system calls per API call, 49 per
    suspension). Buffering both ways costs one ``sendall`` per sentence (the router gets the
    command in one segment instead of one per word) and about one ``recv`` per reply, which
    took about a third of the netagent's CPU per command. The wrapper object stays the one
    the library holds (its ``Connection`` shares it); only its two I/O methods are replaced.
    """
    wrapper = pool.socket
    raw = getattr(wrapper, "socket", None)
    if not isinstance(raw, socket.socket):  # ssl.SSLSocket is one too
        return
    outgoing = bytearray()
    incoming = bytearray()

    def send(data: bytes) -> None:
        outgoing.extend(data)
        # A sentence ends with the empty word, encoded as a single zero byte; every other
        # word is sent as its length prefix plus at least one byte.
        if data == b"\x00":
            try:
                raw.sendall(outgoing)
            finally:
                outgoing.clear()

    def receive(length: int) -> bytes:
        if not incoming:
            chunk = raw.recv(max(65536, length))
            if not chunk:
                raise api_exceptions.RouterOsApiConnectionClosedError()
            incoming.extend(chunk)
        data = bytes(incoming[:length])
        del incoming[:length]
        return data

    wrapper.send = send
    wrapper.receive = receive
