"""The billing dashboard: the month's figures staff steer by, and who may see them.

Two subscribers on Hogar 20 (28.75 a month with IVA), billed on the 1st: Alice pays February
on its last evening and March in two parts; Charlie pays 5.00 and nothing more. Today is
20 March 2025, 15:00 in Guayaquil.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from backoffice.billing import invoicing, ledger
from backoffice.billing.dashboard import billing_dashboard
from backoffice.billing.dunning import dunning_run
from tests.backoffice.billing.conftest import AccountFactory

pytestmark = pytest.mark.django_db(databases=["default", "billing"])

GYE = ZoneInfo("America/Guayaquil")
TODAY = date(2025, 3, 20)
NOW = datetime(2025, 3, 20, 15, 0, tzinfo=GYE)


def _pay(client_id: int, amount: str, at: datetime) -> None:
    ledger.payment_record(client_id=client_id, amount=Decimal(amount), method="cash", received_at=at, now=NOW)


@pytest.fixture
def march(subscription_factory: type) -> Iterator[None]:
    for client_id in (1, 2):
        AccountFactory(client_id=client_id)
        subscription_factory(client_id=client_id, subscription_id=5000 + client_id)
    with time_machine.travel(NOW, tick=False):
        invoicing.billing_run(month=date(2025, 2, 1), today=date(2025, 2, 1), now=NOW)
        invoicing.billing_run(month=date(2025, 3, 1), today=date(2025, 3, 1), now=NOW)
        # 23:30 on 28 February in Guayaquil is already 1 March in UTC: still February's.
        _pay(1, "28.75", datetime(2025, 2, 28, 23, 30, tzinfo=GYE))
        _pay(1, "10.00", datetime(2025, 3, 3, 10, 0, tzinfo=GYE))
        _pay(1, "18.75", datetime(2025, 3, 20, 9, 0, tzinfo=GYE))
        _pay(2, "5.00", datetime(2025, 3, 20, 11, 0, tzinfo=GYE))
        dunning_run(today=TODAY, now=NOW)
        yield


def test_the_months_figures_count_local_days_and_only_what_is_past_due(march: None) -> None:
    figures = billing_dashboard(today=TODAY)

    assert figures.month == date(2025, 3, 1)
    assert (figures.billed, figures.invoices) == (Decimal("57.50"), 2)  # March's, not February's
    assert figures.collected == Decimal("33.75")  # 10.00 + 18.75 + 5.00, not February's 28.75
    assert (figures.payments_today, figures.collected_today) == (2, Decimal("23.75"))
    # Charlie owes February (23.75 left after his 5.00) and March: overdue past the grace period.
    assert figures.overdue_accounts == 1
    assert figures.overdue_amount == Decimal("52.50")
    assert len(figures.per_day) == 20
    collected = {d.day.day: d.amount for d in figures.per_day if d.amount}
    assert collected == {3: Decimal("10.00"), 20: Decimal("23.75")}


def test_billing_staff_see_the_dashboard_with_its_chart(march: None, carol, client) -> None:
    client.force_login(carol)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/billing/dashboard/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Billing dashboard" in page
    assert "USD 57.50" in page and "USD 33.75" in page and "USD 52.50 past due" in page
    # One bar per day so far; the 3rd's bar carries its amount.
    assert page.count("<rect ") == 20
    assert 'data-day="2025-03-03" data-amount="10.00"' in page


def test_the_dashboard_speaks_spanish_by_default(march: None, ada, client) -> None:
    client.force_login(ada)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/billing/dashboard/", HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Panel de facturación" in page and "Cobrado este mes" in page


def test_agents_and_subscribers_may_not_see_it_and_strangers_are_sent_to_sign_in(bob, alice, client) -> None:
    for user in (bob, alice):
        client.force_login(user)
        assert client.get("/billing/dashboard/").status_code == 403
    client.logout()

    response = client.get("/billing/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/signin/?next=/billing/dashboard/")
