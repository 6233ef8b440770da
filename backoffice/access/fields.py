"""Serializer fields for JSON bodies that take each value only in its own JSON type.

DRF coerces (``0`` becomes ``"0"``, ``"7"`` becomes 7, 1 becomes true), so a request the
published schema calls invalid would be accepted. These refuse a value of another type.
"""

from __future__ import annotations

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


class IntegerField(serializers.IntegerField):
    """``serializers.IntegerField`` that takes only a JSON integer (not "7", 7.5 or true)."""

    default_error_messages = {"not_integer": _("Send a whole number here.")}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_integer")
        return super().to_internal_value(data)
