"""TCP server speaking the RouterOS API, sessions and fault injection.

:class:`RouterEmulator` owns a :class:`~netagent.emulator.state.RouterState`
and serves it on a TCP port with one thread per connection. It is meant to
be embedded in tests (``with RouterEmulator() as r: ...``, port 0 by
default) or run standalone (``python -m netagent.emulator``).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from netagent.emulator.protocol import (
    ConnectionClosed,
    ProtocolError,
    SentenceReader,
    encode_sentence,
)
from netagent.emulator.state import ApiTrap, CommandResult, RouterState

__all__ = ["LOGIN_FAILED_MESSAGE", "RouterEmulator"]

log = logging.getLogger(__name__)

#: RouterOS 6.43+ answer to a bad ``/login`` (verified against captures of real routers).
LOGIN_FAILED_MESSAGE = "invalid user name or password (6)"
NOT_LOGGED_IN_MESSAGE = "not logged in"
QUIT_MESSAGE = "session terminated on request"

Sentence = list[str]


class _Session:
    """One client connection; ``logged_in`` flips after a successful ``/login``."""

    def __init__(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        self.sock = sock
        self.peer = peer
        self.logged_in = False
        self.user: str | None = None

    def close(self) -> None:
        # shutdown() first: it wakes the session thread blocked in recv().
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


class _Replier:
    """Builds reply sentences that echo the command's ``.tag`` (when it had one)."""

    def __init__(self, tag: str | None) -> None:
        self.tag = tag

    def sentence(self, kind: str, values: Mapping[str, str] | None = None) -> Sentence:
        """``kind`` (``!re``/``!done``/...), the tag, then ``=key=value`` words."""
        sentence = [kind]
        if self.tag is not None:
            sentence.append(f".tag={self.tag}")
        sentence.extend(f"={key}={value}" for key, value in (values or {}).items())
        return sentence

    def traps(self, *messages: str, category: int | None = None) -> list[Sentence]:
        """One ``!trap`` per message followed by ``!done``, as RouterOS ends a failed command."""
        out: list[Sentence] = []
        for message in messages:
            values = {"category": str(category)} if category is not None else {}
            values["message"] = message
            out.append(self.sentence("!trap", values))
        out.append(self.sentence("!done"))
        return out


class RouterEmulator:
    """An emulated MikroTik router reachable over the RouterOS API (plain TCP).

    The listener starts on :meth:`start` (or entering the ``with`` block) and
    binds ``port`` (0 = a free port; read it back from :attr:`port`). State
    survives :meth:`go_down`/:meth:`come_up` and is available as :attr:`state`.
    All methods are thread-safe.
    """

    def __init__(
        self,
        identity: str = "MikroTik",
        username: str = "admin",
        password: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        empty_replies: bool = False,
        version: str = "7.16 (stable)",
        board_name: str = "CHR",
        seed: Mapping[str, Any] | None = None,
        redial_after: float | None = None,
        auto_dial: bool = False,
        state: RouterState | None = None,
    ) -> None:
        self.state = state or RouterState(
            identity=identity,
            version=version,
            board_name=board_name,
            redial_after=redial_after,
            auto_dial=auto_dial,
        )
        if seed:
            self.state.load_seed(seed)
        self.username = username
        self.password = password
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        #: Answer empty print results with ``!empty`` then ``!done`` (RouterOS 7.18+).
        self.empty_replies = empty_replies
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stop_accepting = threading.Event()
        self._sessions: set[_Session] = set()
        self._delay_s = 0.0
        self._refuse_logins = False
        self._failures: list[tuple[str, str]] = []
        #: Every sentence received (most recent last, bounded) - handy in tests.
        self.received: collections.deque[Sentence] = collections.deque(maxlen=1000)

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        """The TCP port being served (stable across :meth:`go_down`/:meth:`come_up`)."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` to connect to."""
        return self.host, self.port

    @property
    def is_up(self) -> bool:
        """True while the listener accepts connections."""
        with self._lock:
            return self._listener is not None

    def start(self) -> RouterEmulator:
        """Bind and start accepting connections; returns self."""
        self._listen(self._port if self._port is not None else self._requested_port)
        return self

    def stop(self) -> None:
        """Close the listener and every connection and stop redial timers."""
        self.go_down()
        self.state.cancel_timers()

    def __enter__(self) -> RouterEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _listen(self, port: int) -> None:
        with self._lock:
            if self._listener is not None:
                return
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            listener = socket.socket(family, socket.SOCK_STREAM)
            # SO_REUSEADDR lets come_up() rebind the same port while old connections sit in TIME_WAIT.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((self.host, port))
                listener.listen(128)
            except OSError:
                listener.close()
                raise
            # A short accept timeout lets the accept thread notice go_down() promptly.
            listener.settimeout(0.05)
            self._port = listener.getsockname()[1]
            self._listener = listener
            self._stop_accepting = threading.Event()
            thread = threading.Thread(
                target=self._accept_loop,
                args=(listener, self._stop_accepting),
                name=f"routeros-emulator-accept-{self._port}",
                daemon=True,
            )
            self._accept_thread = thread
        thread.start()

    def _accept_loop(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = _Session(conn, peer)
            with self._lock:
                if stop.is_set():
                    session.close()
                    break
                self._sessions.add(session)
            threading.Thread(
                target=self._serve,
                args=(session,),
                name=f"routeros-emulator-session-{peer[1]}",
                daemon=True,
            ).start()

    # ----------------------------------------------------------- fault injection

    def drop_connections(self) -> int:
        """Close every open API connection now (the listener stays up); returns how many."""
        with self._lock:
            sessions = list(self._sessions)
            self._sessions.clear()
        for session in sessions:
            session.close()
        return len(sessions)

    def set_delay(self, milliseconds: float) -> None:
        """Delay every reply by ``milliseconds`` (0 disables)."""
        with self._lock:
            self._delay_s = max(0.0, milliseconds) / 1000.0

    @property
    def delay_ms(self) -> float:
        """Current reply delay in milliseconds."""
        with self._lock:
            return self._delay_s * 1000.0

    def refuse_logins(self, refuse: bool = True) -> None:
        """While True, every ``/login`` fails with the real bad-credentials trap."""
        with self._lock:
            self._refuse_logins = refuse

    def go_down(self) -> None:
        """Simulate the router going offline: close the listener and all connections.

        New connections are refused until :meth:`come_up`. State is kept.
        """
        with self._lock:
            listener, self._listener = self._listener, None
            thread, self._accept_thread = self._accept_thread, None
            self._stop_accepting.set()
        if listener is not None:
            listener.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        self.drop_connections()

    def come_up(self) -> None:
        """Listen again on the same port as before, with the same state."""
        if self._port is None:
            raise RuntimeError("emulator was never started")
        deadline = time.monotonic() + 5
        while True:
            try:
                self._listen(self._port)
                return
            except OSError:
                # The kernel may need a moment to release the port.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def fail_next(self, command_path: str, message: str) -> None:
        """Make the next ``command_path`` command (e.g. ``/ppp/secret/add``) return ``!trap message``.

        Each call arms one failure; several calls queue up in order.
        """
        path = "/" + command_path.strip("/")
        with self._lock:
            self._failures.append((path, message))

    def clear_faults(self) -> None:
        """Remove delay, login refusal and pending ``fail_next`` traps."""
        with self._lock:
            self._delay_s = 0.0
            self._refuse_logins = False
            self._failures.clear()

    @property
    def connection_count(self) -> int:
        """Number of open API connections."""
        with self._lock:
            return len(self._sessions)

    # ------------------------------------------------------------ state helpers

    def items(self, path: str) -> list[dict[str, str]]:
        """Items of a menu as ``print`` returns them (see :meth:`RouterState.items`)."""
        return self.state.items(path)

    def find(self, path: str, **match: str) -> list[dict[str, str]]:
        """Printed items whose properties equal ``match`` (``_`` in names means ``-``)."""
        return self.state.find(path, **match)

    def add(self, path: str, props: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        """Add an item as the API would; returns its ``*ID`` (see :meth:`RouterState.add`)."""
        return self.state.add(path, props, **kwargs)

    def connect_pppoe(self, name: str, caller_id: str | None = None) -> dict[str, str]:
        """Simulate a PPPoE client dialing in (see :meth:`RouterState.connect_pppoe`)."""
        return self.state.connect_pppoe(name, caller_id)

    def disconnect_pppoe(self, name: str) -> int:
        """Kick the PPPoE sessions of ``name``; returns how many were removed."""
        return self.state.disconnect_pppoe(name)

    def connect_all(self) -> list[dict[str, str]]:
        """Dial in every enabled secret not already online."""
        return self.state.connect_all()

    # ------------------------------------------------------------- the protocol

    def _serve(self, session: _Session) -> None:
        reader = SentenceReader(session.sock)
        try:
            while True:
                words = reader.read_sentence()
                if not words:
                    continue  # RouterOS ignores empty sentences
                self.received.append(words)
                replies, close = self._handle(session, words)
                with self._lock:
                    delay = self._delay_s
                if delay:
                    time.sleep(delay)
                session.sock.sendall(b"".join(encode_sentence(reply) for reply in replies))
                if close:
                    break
        except (ConnectionClosed, ProtocolError, OSError) as exc:
            log.debug("session %s ended: %r", session.peer, exc)
        finally:
            with self._lock:
                self._sessions.discard(session)
            session.close()

    def _take_failure(self, word: str) -> str | None:
        with self._lock:
            for index, (path, message) in enumerate(self._failures):
                if path == word:
                    del self._failures[index]
                    return message
        return None

    def _handle(self, session: _Session, words: Sentence) -> tuple[list[Sentence], bool]:
        """Answer one command sentence; returns the reply sentences and whether to close."""
        command = words[0]
        attrs: dict[str, str] = {}
        queries: list[str] = []
        tag: str | None = None
        for word in words[1:]:
            if word.startswith("="):
                # "=key=value"; routeros-api sends "=key" for an empty value.
                key, _, value = word[1:].partition("=")
                attrs[key] = value
            elif word.startswith("?"):
                queries.append(word)
            elif word.startswith(".tag="):
                tag = word[len(".tag=") :]

        out = _Replier(tag)
        if command == "/quit":
            # RouterOS ends the session with an untagged !fatal carrying a bare reason word.
            return [["!fatal", QUIT_MESSAGE]], True
        if command == "/login":
            return self._login(session, attrs, out), False
        if not session.logged_in:
            return out.traps(NOT_LOGGED_IN_MESSAGE), False
        if command == "/cancel":
            # Every command completes synchronously, so there is never anything to cancel.
            return [out.sentence("!done")], False
        failure = self._take_failure(command)
        if failure is not None:
            return out.traps(failure), False
        if not command.startswith("/"):
            return out.traps("no such command prefix"), False
        try:
            result: CommandResult = self.state.run(command, attrs, queries)
        except ApiTrap as trap:
            return out.traps(*trap.messages, category=trap.category), False
        except Exception:  # a bug in the emulator must not look like a network fault
            log.exception("emulator failed on %s", words)
            return out.traps("failure: internal emulator error"), False
        sentences = [out.sentence("!re", row) for row in result.rows]
        if result.listing and not result.rows and self.empty_replies:
            sentences.append(out.sentence("!empty"))
        sentences.append(out.sentence("!done", result.done))
        return sentences, False

    def _login(self, session: _Session, attrs: Mapping[str, str], out: _Replier) -> list[Sentence]:
        """The 6.43+ plaintext flow: ``/login =name= =password=`` in one step."""
        with self._lock:
            refused = self._refuse_logins
        name, password = attrs.get("name"), attrs.get("password")
        if refused or name != self.username or password != self.password:
            session.logged_in = False
            return out.traps(LOGIN_FAILED_MESSAGE)
        session.logged_in = True
        session.user = name
        return [out.sentence("!done")]
