"""The ledger: payments pay the oldest invoices first, overpayment is credit for the next
invoice, the balance reaching zero settles an overdue account; dunning reminds, then declares
the account overdue after the grace period unless a promise to pay covers the day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from backoffice.access.errors import DomainError
from backoffice.billing import invoicing, ledger, services
from backoffice.billing.dunning import dunning_run
from backoffice.billing.models import BillingAccount, Invoice, Payment
from tests.backoffice.billing.conftest import NOW

pytestmark = pytest.mark.django_db(databases=["default", "billing"])

D = Decimal
APRIL = date(2025, 4, 1)
DUE = date(2025, 3, 11)  # March's invoices are due ten days after they are issued


def _pay(amount: str, **kwargs):
    kwargs.setdefault("method", "cash")
    payment, _created = ledger.payment_record(
        client_id=1, amount=D(amount), received_at=NOW, now=NOW, recorded_by="carol@enlace.test", **kwargs
    )
    return payment


def test_a_partial_cash_payment_leaves_the_invoice_partially_paid(alice_subscribed, run_march, invoice_of):
    run_march()

    _pay("10.00", reference="recibo 0042")

    invoice = invoice_of(501)
    assert (invoice.amount_paid, invoice.amount_due, invoice.status) == (
        D("10.00"),
        D("18.75"),
        "partially_paid",
    )
    assert ledger.client_balance(client_id=1) == D("18.75")


def test_an_overpayment_becomes_credit_applied_to_the_next_invoice(alice_subscribed, run_march, invoice_of):
    run_march()

    payment = _pay("40.00", method="transfer", reference="TRX-998")
    assert invoice_of(501).status == "paid"
    assert (payment.unallocated, ledger.client_credit(client_id=1)) == (D("11.25"), D("11.25"))
    assert ledger.client_balance(client_id=1) == D("-11.25")

    invoicing.billing_run(month=APRIL, today=APRIL, now=NOW)

    april = invoice_of(501, APRIL)
    assert (april.amount_paid, april.amount_due, april.status) == (D("11.25"), D("17.50"), "partially_paid")
    assert ledger.client_credit(client_id=1) == D("0.00")


def test_a_payment_must_be_a_positive_amount_in_cents(alice_subscribed):
    for amount in ("0.00", "-5.00", "10.005"):
        with pytest.raises(DomainError) as refused:
            _pay(amount)
        assert refused.value.code == "invalid_amount"
    assert not Payment.objects.exists()


def test_paying_off_an_overdue_account_publishes_settled_once(alice_subscribed, run_march, outbox):
    run_march()
    dunning_run(today=DUE + timedelta(days=6), now=NOW)
    assert [m["data"] for m in outbox(type="billing.account.overdue")] == [
        {"client_id": 1, "balance": "28.75", "reason": "overdue"}
    ]

    _pay("20.00")
    assert outbox(type="billing.account.settled") == []
    _pay("8.75")
    _pay("5.00")

    [settled] = outbox(type="billing.account.settled")
    assert settled["key"] == "1"
    assert settled["data"] == {"client_id": 1, "balance": "0.00", "reason": "payment"}
    assert BillingAccount.objects.get(client_id=1).overdue is False


def test_a_gateway_payment_is_recorded_once_however_often_it_is_announced(alice_subscribed, run_march):
    run_march()

    first, created = ledger.payment_record(
        client_id=1,
        amount=D("28.75"),
        method="stripe",
        received_at=NOW,
        now=NOW,
        gateway_payment_id="stripe:pi_1",
    )
    again, created_again = ledger.payment_record(
        client_id=1,
        amount=D("28.75"),
        method="stripe",
        received_at=NOW,
        now=NOW,
        gateway_payment_id="stripe:pi_1",
    )

    assert (created, created_again, first.pk) == (True, False, again.pk)
    assert ledger.client_balance(client_id=1) == D("0.00")


def test_reminders_go_out_before_on_and_after_the_due_date_once_each(
    alice_subscribed, run_march, outbox, django_capture_on_commit_callbacks
):
    run_march()

    for day in (DUE - timedelta(days=3), DUE, DUE, DUE + timedelta(days=3)):
        with django_capture_on_commit_callbacks(execute=True, using="billing"):
            dunning_run(today=day, now=NOW)

    assert [m["data"]["offset_days"] for m in outbox(type="billing.invoice.reminder")] == [-3, 0, 3]
    assert [m.to for m in mail.outbox] == [["facturas.alice@example.ec"]] * 3
    assert "001-001-000000001" in mail.outbox[0].subject
    assert "28.75" in mail.outbox[2].body


def test_an_account_is_overdue_only_after_the_grace_period(alice_subscribed, run_march, invoice_of, outbox):
    run_march()

    dunning_run(today=DUE + timedelta(days=5), now=NOW)
    assert invoice_of(501).status == "overdue"
    assert outbox(type="billing.account.overdue") == []

    dunning_run(today=DUE + timedelta(days=6), now=NOW)
    dunning_run(today=DUE + timedelta(days=7), now=NOW)
    assert len(outbox(type="billing.account.overdue")) == 1


def test_a_promise_to_pay_defers_the_suspension_until_it_lapses(alice_subscribed, run_march, outbox):
    run_march()
    services.promise_to_pay_grant(client_id=1, days=4, today=DUE + timedelta(days=5), granted_by="carol")

    dunning_run(today=DUE + timedelta(days=9), now=NOW)
    assert outbox(type="billing.account.overdue") == []

    dunning_run(today=DUE + timedelta(days=10), now=NOW)
    assert len(outbox(type="billing.account.overdue")) == 1


def test_credit_covering_the_late_invoice_is_no_reason_to_suspend(alice_subscribed, run_march, outbox):
    _pay("30.00")
    run_march()

    dunning_run(today=DUE + timedelta(days=30), now=NOW)

    assert outbox(type="billing.account.overdue") == []
    assert Invoice.objects.get().status == "paid"
