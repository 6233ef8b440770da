"""Periods, proration and IVA: pure functions over plain data (no database).

Money is ``Decimal`` rounded half-up to cents. A line's IVA is computed on the line
(``tax = cents(subtotal x rate)``) and an invoice's totals are the sums of its lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """``value`` rounded half-up to cents (0.005 → 0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (billing days are 1-28, so the day always exists)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


def billing_period(*, billing_day: int, month: date) -> tuple[date, date]:
    """The period a subscription billed on ``billing_day`` has starting in ``month``'s month:
    from that day to the day before the same day of the next month (both included)."""
    start = date(month.year, month.month, billing_day)
    return start, add_months(start, 1) - timedelta(days=1)


@dataclass(frozen=True)
class Segment:
    """A plan price billed from ``effective_from`` on."""

    effective_from: date
    plan_code: str
    plan_name: str
    monthly_price: Decimal
    tax_rate: Decimal


@dataclass(frozen=True)
class LineDraft:
    description: str
    days: int
    period_days: int
    unit_price: Decimal
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


def line(
    *,
    description: str,
    subtotal: Decimal,
    tax_rate: Decimal,
    days: int = 0,
    period_days: int = 0,
    unit_price: Decimal | None = None,
) -> LineDraft:
    """A line whose IVA is its subtotal x ``tax_rate``, rounded half-up to cents."""
    subtotal = cents(subtotal)
    tax = cents(subtotal * tax_rate)
    return LineDraft(
        description=description,
        days=days,
        period_days=period_days,
        unit_price=subtotal if unit_price is None else unit_price,
        subtotal=subtotal,
        tax_rate=tax_rate,
        tax=tax,
        total=subtotal + tax,
    )


def period_lines(
    *,
    segments: Sequence[Segment],
    start_date: date,
    end_date: date | None,
    period_start: date,
    period_end: date,
) -> list[LineDraft]:
    """The lines for the days of [period_start, period_end] the service runs, one per plan.

    A plan billed for the whole period costs its monthly price; a part of the period costs
    monthly price x days / days in the period (rounded to cents per line). ``segments`` are
    sorted by ``effective_from``; the service runs from ``start_date`` to ``end_date``.
    """
    period_days = (period_end - period_start).days + 1
    served_from = max(period_start, start_date)
    served_to = period_end if end_date is None else min(period_end, end_date)
    lines: list[LineDraft] = []
    for index, segment in enumerate(segments):
        next_from = segments[index + 1].effective_from if index + 1 < len(segments) else None
        first = max(served_from, segment.effective_from)
        last = served_to if next_from is None else min(served_to, next_from - timedelta(days=1))
        if first > last:
            continue
        days = (last - first).days + 1
        if days == period_days:
            subtotal = segment.monthly_price
        else:
            subtotal = cents(segment.monthly_price * days / period_days)
        lines.append(
            line(
                description=f"{segment.plan_name} {first:%d/%m/%Y}-{last:%d/%m/%Y}",
                subtotal=subtotal,
                tax_rate=segment.tax_rate,
                days=days,
                period_days=period_days,
                unit_price=segment.monthly_price,
            )
        )
    return lines


def totals(lines: Sequence[LineDraft]) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, tax, total) of ``lines``."""
    subtotal = sum((item.subtotal for item in lines), Decimal("0.00"))
    tax = sum((item.tax for item in lines), Decimal("0.00"))
    return subtotal, tax, subtotal + tax


def document_number(establishment: str, emission_point: str, sequential: int) -> str:
    """``001-001-000000001``: the SRI's establishment, emission point and nine-digit sequential."""
    return f"{establishment}-{emission_point}-{sequential:09d}"
