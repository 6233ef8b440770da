"""The demo's billing history (``seed_billing_history``, run by ``make run``) and the staff's
``dunning_run`` command: what a person trying the demo, or staff, can rely on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from backoffice.billing.ledger import client_balance
from backoffice.billing.models import BillingAccount, BillingSubscription, Invoice, InvoiceStatus, Payment

pytestmark = pytest.mark.django_db(databases=["default", "billing"])

TODAY = "2026-03-18"


def test_every_demo_subscriber_has_this_months_invoice_and_only_the_chosen_one_is_overdue(
    outbox: Callable[..., list[dict[str, Any]]],
) -> None:
    call_command("seed_billing_history", "--today", TODAY, "--overdue-client", "1")

    subscriptions = BillingSubscription.objects.order_by("subscription_id")
    assert [(s.subscription_id, s.client_id) for s in subscriptions] == [(1000 + c, c) for c in range(1, 7)]
    march = {i.client_id: i for i in Invoice.objects.filter(period_start=date(2026, 3, 1))}
    assert sorted(march) == [1, 2, 3, 4, 5, 6]
    assert march[1].issue_date == date(2026, 3, 18) and march[1].due_date == date(2026, 3, 28)
    # Hogar 20 for the whole period: 25.00 + 15 % IVA; Pyme 100: 79.90 + 11.99.
    assert march[1].total == Decimal("28.75")
    assert march[4].total == Decimal("91.89")

    # Alice (client 1) did not pay February's invoice, due on 11 February: past the grace period.
    alice = BillingAccount.objects.get(client_id=1)
    assert alice.overdue
    assert Invoice.objects.get(client_id=1, period_start=date(2026, 2, 1)).status == InvoiceStatus.OVERDUE
    assert client_balance(client_id=1) == Decimal("57.50")
    overdue = outbox(type="billing.account.overdue")
    assert [event["data"]["client_id"] for event in overdue] == [1]
    # Nobody's balance reached zero: no reconnection is announced at start.
    assert outbox(type="billing.account.settled") == []
    # Everyone else paid February and owes only March, not yet due.
    for client_id in range(2, 7):
        assert not BillingAccount.objects.get(client_id=client_id).overdue
        assert client_balance(client_id=client_id) == march[client_id].total


def test_seeding_again_changes_nothing(outbox: Callable[..., list[dict[str, Any]]]) -> None:
    call_command("seed_billing_history", "--today", TODAY, "--overdue-client", "1")
    before = (Invoice.objects.count(), Payment.objects.count(), len(outbox()))

    call_command("seed_billing_history", "--today", TODAY, "--overdue-client", "1")

    assert (Invoice.objects.count(), Payment.objects.count(), len(outbox())) == before


def test_without_an_overdue_client_nobody_is_overdue_until_dunning_runs_past_the_grace_period(
    outbox: Callable[..., list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("seed_billing_history", "--today", TODAY)
    assert not BillingAccount.objects.filter(overdue=True).exists()

    # March's invoices are due on the 28th; the grace period is 5 days.
    call_command("dunning_run", "--today", "2026-04-02")
    assert not BillingAccount.objects.filter(overdue=True).exists()
    call_command("dunning_run", "--today", "2026-04-03")

    assert BillingAccount.objects.filter(overdue=True).count() == 6
    assert len(outbox(type="billing.account.overdue")) == 6
    assert "6 accounts declared overdue" in capsys.readouterr().out


def test_an_unknown_overdue_client_is_refused_naming_the_demo_clients() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="demo clients are 1 to 6"):
        call_command("seed_billing_history", "--overdue-client", "9")
    assert not BillingAccount.objects.exists()
