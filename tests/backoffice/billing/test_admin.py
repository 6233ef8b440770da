"""The billing admin goes through the service functions: a payment saved there is applied."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from backoffice.billing import ledger
from backoffice.billing.models import Invoice, Payment

pytestmark = pytest.mark.django_db(databases=["default", "billing"])


def test_a_cash_payment_added_in_the_admin_is_applied_to_the_ledger(ada, client, alice_subscribed, run_march):
    run_march()
    ada.is_superuser = True
    ada.save()
    client.force_login(ada)

    response = client.post(
        "/admin/billing/payment/add/",
        {
            "client_id": 1,
            "amount": "28.75",
            "method": "cash",
            "reference": "recibo 17",
            "received_at_0": "2025-03-02",
            "received_at_1": "10:00:00",
        },
    )

    assert response.status_code == 302, response.content
    payment = Payment.objects.get()
    assert (payment.recorded_by, payment.reference) == ("ada@enlace.test", "recibo 17")
    assert Invoice.objects.get().status == "paid"
    assert ledger.client_balance(client_id=1) == Decimal("0.00")


def test_the_billing_run_command_issues_the_month_and_reports_it(alice_subscribed, capsys):
    call_command("billing_run", "--month", "2025-03", "--today", "2025-03-01")

    out = capsys.readouterr().out
    assert "1 subscriptions to invoice for 2025-03" in out
    assert "1 invoices issued" in out
    assert Invoice.objects.count() == 1
