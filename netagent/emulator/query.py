"""Evaluation of RouterOS API ``print`` query words (``?...``).

RouterOS evaluates query words left to right against each item using a stack
of booleans; an item is printed when every value left on the stack is true
(an empty stack matches everything). Supported words, as documented for the
RouterOS API:

* ``?name=x`` / ``?=name=x`` - push *item.name equals x*
* ``?<name=x`` / ``?>name=x`` - push *item.name less / greater than x*
* ``?name`` - push *item has property name*; ``?-name`` - push *has not*
* ``?#ops`` - stack operations: ``!`` negate top, ``&`` pop two push AND,
  ``|`` pop two push OR, ``.`` push a copy of the top (a no-op right after an
  index), and a decimal index (top is 0): followed by another operation it
  pushes a copy of that value, at the end of the word it replaces the whole
  stack with that value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Query", "QueryError", "compare_values", "values_equal"]

_BOOL_WORDS = {"yes": True, "true": True, "no": False, "false": False}


class QueryError(ValueError):
    """A query word is malformed or the stack would underflow."""


def _as_number(value: str) -> int | None:
    """Interpret RouterOS ids (``*1A``) and plain integers as numbers."""
    if value.startswith("*"):
        try:
            return int(value[1:], 16)
        except ValueError:
            return None
    if value.isdigit():
        return int(value)
    return None


def values_equal(item_value: str, query_value: str) -> bool:
    """Return whether a stored value equals a query value the way RouterOS compares.

    Booleans compare by meaning (``?disabled=no`` matches ``false``) and ids
    by number (``*a`` equals ``*A``); everything else compares as text.
    """
    if item_value in _BOOL_WORDS and query_value in _BOOL_WORDS:
        return _BOOL_WORDS[item_value] == _BOOL_WORDS[query_value]
    left, right = _as_number(item_value), _as_number(query_value)
    if left is not None and right is not None:
        return left == right
    return item_value == query_value


def compare_values(item_value: str, query_value: str) -> int:
    """Three-way compare (-1, 0, 1): numerically when both are numbers, else as text."""
    left, right = _as_number(item_value), _as_number(query_value)
    if left is not None and right is not None:
        return (left > right) - (left < right)
    return (item_value > query_value) - (item_value < query_value)


Item = Mapping[str, str]
Step = Callable[[Item, list[bool]], None]


def _push_equal(name: str, value: str) -> Step:
    def step(item: Item, stack: list[bool]) -> None:
        stack.append(name in item and values_equal(item[name], value))

    return step


def _push_compare(name: str, value: str, sign: int) -> Step:
    def step(item: Item, stack: list[bool]) -> None:
        stack.append(name in item and compare_values(item[name], value) == sign)

    return step


def _push_has(name: str, present: bool) -> Step:
    def step(item: Item, stack: list[bool]) -> None:
        stack.append((name in item) == present)

    return step


def _need(stack: list[bool], count: int) -> None:
    if len(stack) < count:
        raise QueryError("stack underflow in query")


def _index_value(stack: list[bool], index: int) -> bool:
    _need(stack, index + 1)
    return stack[-1 - index]


def _operations(ops: str) -> Step:
    """Compile the part of a ``?#`` word after the ``#``."""
    for char in ops:
        if not (char.isdigit() or char in "!&|."):
            raise QueryError(f"unknown query operation {char!r}")

    def step(item: Item, stack: list[bool]) -> None:
        pos = 0
        previous_was_index = False
        while pos < len(ops):
            char = ops[pos]
            if char.isdigit():
                end = pos
                while end < len(ops) and ops[end].isdigit():
                    end += 1
                value = _index_value(stack, int(ops[pos:end]))
                if end == len(ops):
                    stack[:] = [value]
                else:
                    stack.append(value)
                pos = end
                previous_was_index = True
                continue
            if char == "!":
                _need(stack, 1)
                stack[-1] = not stack[-1]
            elif char in "&|":
                _need(stack, 2)
                right, left = stack.pop(), stack.pop()
                stack.append(left and right if char == "&" else left or right)
            elif char == "." and not previous_was_index:
                _need(stack, 1)
                stack.append(stack[-1])
            previous_was_index = False
            pos += 1

    return step


def _compile_word(word: str) -> Step:
    if not word.startswith("?") or len(word) < 2:
        raise QueryError(f"not a query word: {word!r}")
    body = word[1:]
    if body.startswith("#"):
        return _operations(body[1:])
    if body[0] in "<>":
        name, sep, value = body[1:].partition("=")
        if not sep or not name:
            raise QueryError(f"comparison needs name=value: {word!r}")
        return _push_compare(name, value, -1 if body[0] == "<" else 1)
    if body[0] == "-":
        return _push_has(body[1:], present=False)
    if body[0] == "=":
        body = body[1:]
    name, sep, value = body.partition("=")
    if not name:
        raise QueryError(f"empty property name: {word!r}")
    return _push_equal(name, value) if sep else _push_has(name, present=True)


@dataclass(frozen=True)
class Query:
    """A compiled list of query words; call :meth:`matches` per item."""

    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, words: Sequence[str]) -> Query:
        """Compile query words (each starting with ``?``); raises :class:`QueryError`."""
        return cls(tuple(_compile_word(word) for word in words))

    def matches(self, item: Item) -> bool:
        """True when the item (a printed property dict) satisfies the query."""
        stack: list[bool] = []
        for step in self.steps:
            step(item, stack)
        return all(stack)
