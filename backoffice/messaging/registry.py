"""The consumers each service declares, and how a process finds and dispatches to them.

A service lists ``CONSUMERS: list[ConsumerSpec]`` in ``backoffice/<service>/consumers.py``;
``python -m backoffice consume <name>`` runs one of them.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandlerMany:
    """Applies a run of messages of one type at once, with set-based queries.

    ``key`` names what a message changes (a client, a subscription). A run never holds two
    messages with the same key, so the handler may apply them in any order it likes, as
    one statement each step, and the result is the same as applying them one by one.
    """

    handle: Callable[[Sequence[Envelope]], None]
    key: Callable[[Envelope], Hashable]


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer group: what it reads, which database holds its inbox, which types it handles.

    A type is handled by ``handlers`` (one message at a time) or ``handlers_many`` (runs of
    messages, see :class:`HandlerMany`; a lone message is a run of one).
    """

    name: str
    group_id: str
    topics: list[str]
    using: str
    handlers: dict[str, Callable[[Envelope], None]] = field(default_factory=dict)
    handlers_many: dict[str, HandlerMany] = field(default_factory=dict)

    def dispatch(self, envelope: Envelope) -> None:
        """Calls the handler of ``envelope.type``; a type without one is ignored on purpose.

        A topic carries many types and each consumer cares about some of them; the inbox still
        records the ignored message, so the decision is visible and made once.
        """
        handler = self.handlers.get(envelope.type)
        if handler is not None:
            handler(envelope)
            return
        many = self.handlers_many.get(envelope.type)
        if many is not None:
            many.handle([envelope])
            return
        logger.debug("%s: ignoring %s %s", self.name, envelope.type, envelope.id)

    def dispatch_many(self, envelopes: Sequence[Envelope]) -> None:
        """Applies ``envelopes`` in order: consecutive messages of a type with a
        ``handlers_many`` entry go together (a new run starts where a key repeats), every
        other message through :meth:`dispatch`.
        """
        run: list[Envelope] = []
        keys: set[Hashable] = set()
        current: HandlerMany | None = None

        def flush() -> None:
            if current is not None and run:
                current.handle(list(run))
            run.clear()
            keys.clear()

        for envelope in envelopes:
            many = self.handlers_many.get(envelope.type)
            if many is None:
                flush()
                self.dispatch(envelope)
                continue
            key = many.key(envelope)
            if many is not current or key in keys:
                flush()
                current = many
            run.append(envelope)
            keys.add(key)
        flush()


class UnknownConsumer(LookupError):
    """No service declares a consumer of that name."""


def consumer_modules(services: Iterable[str]) -> list[str]:
    """The ``backoffice.<service>.consumers`` modules that exist, for ``services``."""
    names = []
    for service in services:
        module = f"backoffice.{service}.consumers"
        if importlib.util.find_spec(module) is not None:
            names.append(module)
    return names


def discover_consumers(modules: Iterable[str]) -> dict[str, ConsumerSpec]:
    """Imports ``modules`` and returns their ``CONSUMERS`` by name; raises ValueError on a clash."""
    specs: dict[str, ConsumerSpec] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for spec in getattr(module, "CONSUMERS", []):
            if spec.name in specs:
                raise ValueError(f"two consumers are named {spec.name!r} (one in {module_name})")
            specs[spec.name] = spec
    return specs


def consumer_get(name: str, modules: Iterable[str]) -> ConsumerSpec:
    """The consumer ``name`` declared in ``modules``; raises UnknownConsumer listing the known ones."""
    specs = discover_consumers(modules)
    try:
        return specs[name]
    except KeyError:
        known = ", ".join(sorted(specs)) or "none"
        raise UnknownConsumer(f"no consumer named {name!r}; known: {known}") from None
