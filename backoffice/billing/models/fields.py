"""Field helpers shared by billing's tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

ZERO = Decimal("0.00")


def money(verbose_name: Any, **kwargs: Any) -> Any:
    """A money column: 12 digits, 2 of them decimals (US dollars)."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)
