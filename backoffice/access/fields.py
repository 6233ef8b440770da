"""Serializer fields for JSON bodies that take each value only in its own JSON type.

DRF coerces (``0`` becomes ``"0"``, ``"7"`` becomes 7, 1 becomes true), so a request the
published schema calls invalid would be accepted. These refuse a value of another type.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class _TextOnly:
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError(_("Send text (a JSON string) here."), code="not_text")
        return super().to_internal_value(data)  # type: ignore[misc]


class CharField(_TextOnly, serializers.CharField):
    """``serializers.CharField`` that refuses numbers and booleans."""


class RegexField(_TextOnly, serializers.RegexField):
    """``serializers.RegexField`` that refuses numbers and booleans."""


class SlugField(_TextOnly, serializers.SlugField):
    """``serializers.SlugField`` that refuses numbers and booleans."""


class BooleanField(serializers.BooleanField):
    """``serializers.BooleanField`` that takes only ``true`` or ``false`` (not 1, "yes" or "on")."""

    default_error_messages = {"not_boolean": _("Send true or false here.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("not_boolean")
        return data


# PostgreSQL's bigint: a larger id can name nothing, and would fail in the database (a 500).
BIGINT_MAX = 2**63 - 1


class IntegerField(serializers.IntegerField):
    """``serializers.IntegerField`` that takes only a JSON integer (not "7", 7.5 or true), at
    within PostgreSQL's bigint unless told otherwise."""

    default_error_messages = {"not_integer": _("Send a whole number here.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_value", BIGINT_MAX)
        kwargs.setdefault("min_value", -BIGINT_MAX - 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_integer")
        return super().to_internal_value(data)


class DecimalField(serializers.DecimalField):
    """``serializers.DecimalField`` that takes only text matching ``pattern`` (e.g. ``"20.00"``).

    DRF also takes numbers, exponents and surrounding spaces; the schema states the pattern
    (which also says the range: a price's pattern has no minus sign), so that is all it takes.
    """

    default_error_messages = {"not_decimal": _("Send the amount as text, like %(example)s.")}

    def __init__(self, *, pattern: str, example: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pattern = re.compile(pattern)
        self.example = example
        # drf-spectacular reads the schema of this field from here (an instance's extend_schema_field).
        self._spectacular_annotation = {
            "field": {"type": "string", "format": "decimal", "pattern": pattern, "example": example}
        }

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not self.pattern.fullmatch(data):
            self.fail("not_decimal", example=f'"{self.example}"')
        return super().to_internal_value(data)


def money(*, positive: bool = False, max_digits: int = 12, **kwargs: Any) -> DecimalField:
    """An amount in dollars with cents, zero or more (more than zero when ``positive``)."""
    whole = rf"[1-9]\d{{0,{max_digits - 3}}}(?:\.\d{{1,2}})?"
    pattern = rf"^(?:{whole}|0\.(?:0[1-9]|[1-9]\d?))$" if positive else rf"^(?:{whole}|0(?:\.\d{{1,2}})?)$"
    return DecimalField(
        pattern=pattern, example="20.00", max_digits=max_digits, decimal_places=2, min_value=0, **kwargs
    )


def rate(**kwargs: Any) -> DecimalField:
    """A fraction from 0 to 1 with up to four decimals (0.15 is 15 %)."""
    return DecimalField(
        pattern=r"^(?:0(?:\.\d{1,4})?|1(?:\.0{1,4})?)$",
        example="0.15",
        max_digits=5,
        decimal_places=4,
        min_value=0,
        max_value=1,
        **kwargs,
    )
