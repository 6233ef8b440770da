"""The billing dashboard page for staff (roles billing and admin), served by the back office.

Signed in through identity's sign-in page (a session); the figures come from
:mod:`backoffice.billing.dashboard`, the chart is an SVG drawn here (no script, no CDN).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from backoffice.billing.dashboard import DayCollected, billing_dashboard

DASHBOARD_ROLES = ("billing", "admin")
CHART_HEIGHT = 160  # px of the tallest bar
BAR_WIDTH, BAR_GAP = 18, 6


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    label_x: int
    day: DayCollected


def _bars(days: list[DayCollected]) -> list[Bar]:
    """One bar per day, scaled to the best day (an empty month draws flat bars)."""
    top = max((d.amount for d in days), default=Decimal(0)) or Decimal(1)
    bars = []
    for n, day in enumerate(days):
        height = int(day.amount / top * CHART_HEIGHT) if day.amount else 0
        x = n * (BAR_WIDTH + BAR_GAP)
        bars.append(Bar(x, CHART_HEIGHT - height, height, x + BAR_WIDTH // 2, day))
    return bars


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not (user.is_superuser or any(role in user.roles for role in DASHBOARD_ROLES)):
        raise PermissionDenied("the billing dashboard is for billing staff and administrators")
    figures = billing_dashboard(today=timezone.localdate())
    bars = _bars(figures.per_day)
    return render(
        request,
        "billing/dashboard.html",
        {
            "figures": figures,
            "bars": bars,
            "bar_width": BAR_WIDTH,
            "chart_height": CHART_HEIGHT,
            "chart_width": max(len(bars) * (BAR_WIDTH + BAR_GAP), BAR_WIDTH),
        },
    )
