"""The billing run: once per subscription per period, prorated by days, IVA per line, numbered
without gaps. Amounts hand-computed: March 2025 has 31 days; Hogar 20 costs 25.00, Hogar 50
35.00, both + 15 % IVA, rounded half-up to cents per line.
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connections

from backoffice.billing import invoicing
from backoffice.billing.models import CreditNote, Invoice, InvoiceLine, PendingCharge
from enlace_messaging.django.models import OutboxMessage
from enlace_messaging.envelope import Envelope
from tests.backoffice.billing.conftest import (
    HOGAR_20,
    HOGAR_50,
    MARCH,
    NOW,
    SubscriptionFactory,
    cancelled,
    plan_changed,
    subscription_created,
)

pytestmark = pytest.mark.django_db(databases=["default", "billing"])

D = Decimal
APRIL = date(2025, 4, 1)


def _lines(invoice):
    return [
        (line.description, line.days, line.subtotal, line.tax, line.total) for line in invoice.lines.all()
    ]


def test_a_whole_month_costs_the_plan_price_plus_iva(alice_subscribed, run_march, invoice_of, outbox):
    result = run_march()

    invoice = invoice_of(501)
    assert result.issued == 1
    assert (invoice.number, invoice.client_id, invoice.customer_name) == (
        "001-001-000000001",
        1,
        "Alice Andrade",
    )
    assert (str(invoice.period_start), str(invoice.period_end), str(invoice.due_date)) == (
        "2025-03-01",
        "2025-03-31",
        "2025-03-11",
    )
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.status) == (
        D("25.00"),
        D("3.75"),
        D("28.75"),
        "issued",
    )
    assert _lines(invoice) == [("Hogar 20 01/03/2025-31/03/2025", 31, D("25.00"), D("3.75"), D("28.75"))]
    [event] = outbox(type="billing.invoice.issued")
    assert event["key"] == "1"
    assert event["data"] == {
        "client_id": 1,
        "subscription_id": 501,
        "invoice_number": "001-001-000000001",
        "period_start": "2025-03-01",
        "period_end": "2025-03-31",
        "total": "28.75",
        "due_date": "2025-03-11",
    }


def test_the_issued_events_are_stored_byte_for_byte_as_the_envelope_the_relay_publishes(run_march):
    SubscriptionFactory.create_batch(3)
    run_march(chunk_size=2)

    rows = OutboxMessage.objects.using("billing").filter(message_type="billing.invoice.issued")
    payloads = [bytes(row.payload) for row in rows]
    assert len(payloads) == 3
    for raw in payloads:
        assert Envelope.from_json(raw).to_json() == raw
    assert {row.key for row in rows} == {str(i.client_id) for i in Invoice.objects.all()}


def test_running_the_billing_run_twice_gives_the_same_invoices(run_march, now):
    SubscriptionFactory.create_batch(5)

    first = run_march(chunk_size=2)
    before = list(Invoice.objects.order_by("sequential").values_list("number", "subscription_id", "total"))
    again = run_march(chunk_size=2)

    assert (first.issued, again.issued) == (5, 0)
    assert (
        list(Invoice.objects.order_by("sequential").values_list("number", "subscription_id", "total"))
        == before
    )
    assert InvoiceLine.objects.count() == 5


def test_a_service_started_mid_month_pays_the_days_it_had(deliver, run_march, invoice_of, alice_subscribed):
    deliver(subscription_created(subscription_id=502, start_date="2025-03-16"))

    run_march()

    # 16 of 31 days: 25.00 x 16 / 31 = 12.903 → 12.90; IVA 1.935 → 1.94 (half-up).
    assert _lines(invoice_of(502)) == [
        ("Hogar 20 16/03/2025-31/03/2025", 16, D("12.90"), D("1.94"), D("14.84"))
    ]


def test_an_upgrade_on_day_10_splits_the_period_between_the_plans(
    alice_subscribed, deliver, run_march, invoice_of
):
    deliver(plan_changed(plan=HOGAR_50, effective_date="2025-03-10"))

    run_march()

    invoice = invoice_of(501)
    # 9 days of 25.00 = 7.258 → 7.26 (IVA 1.089 → 1.09); 22 days of 35.00 = 24.839 → 24.84 (IVA 3.726 → 3.73).
    assert _lines(invoice) == [
        ("Hogar 20 01/03/2025-09/03/2025", 9, D("7.26"), D("1.09"), D("8.35")),
        ("Hogar 50 10/03/2025-31/03/2025", 22, D("24.84"), D("3.73"), D("28.57")),
    ]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("32.10"), D("4.82"), D("36.92"))


def test_a_downgrade_on_day_16_splits_the_period_between_the_plans(
    deliver, run_march, invoice_of, alice_subscribed
):
    deliver(subscription_created(subscription_id=502, plan=HOGAR_50))
    deliver(plan_changed(subscription_id=502, plan=HOGAR_20, effective_date="2025-03-16"))

    run_march()

    # 15 days of 35.00 = 16.935 → 16.94 (IVA 2.541 → 2.54); 16 days of 25.00 = 12.90 (IVA 1.94).
    invoice = invoice_of(502)
    assert [line[1:] for line in _lines(invoice)] == [
        (15, D("16.94"), D("2.54"), D("19.48")),
        (16, D("12.90"), D("1.94"), D("14.84")),
    ]
    assert invoice.total == D("34.32")


def test_a_cancellation_known_before_the_run_bills_up_to_the_last_day(
    alice_subscribed, deliver, run_march, invoice_of
):
    deliver(cancelled(effective_date="2025-03-20"))

    run_march()
    april = invoicing.billing_run(month=APRIL, today=APRIL, now=NOW)

    # 20 of 31 days: 16.129 → 16.13; IVA 2.4195 → 2.42.
    assert _lines(invoice_of(501)) == [
        ("Hogar 20 01/03/2025-20/03/2025", 20, D("16.13"), D("2.42"), D("18.55"))
    ]
    assert april.issued == 0


def test_a_cancellation_after_the_invoice_credits_the_days_not_served(
    alice_subscribed, deliver, run_march, invoice_of
):
    run_march()

    deliver(cancelled(effective_date="2025-03-20"))

    note = CreditNote.objects.get()
    # Billed 25.00, owed 16.13: 8.87 credited, IVA 1.3305 → 1.33.
    assert (note.number, note.subtotal, note.tax, note.total) == (
        "001-001-000000001",
        D("8.87"),
        D("1.33"),
        D("10.20"),
    )
    invoice = invoice_of(501)
    assert (invoice.amount_paid, invoice.amount_due, invoice.status) == (
        D("10.20"),
        D("18.55"),
        "partially_paid",
    )


def test_an_upgrade_after_the_invoice_is_charged_on_the_next_one(
    alice_subscribed, deliver, run_march, invoice_of
):
    run_march()
    deliver(plan_changed(plan=HOGAR_50, effective_date="2025-03-10"))

    invoicing.billing_run(month=APRIL, today=APRIL, now=NOW)

    # March re-priced: 7.26 + 24.84 = 32.10, billed 25.00: 7.10 more, on April's invoice.
    april = invoice_of(501, APRIL)
    assert [line[1:] for line in _lines(april)] == [
        (30, D("35.00"), D("5.25"), D("40.25")),
        (0, D("7.10"), D("1.07"), D("8.17")),
    ]
    assert PendingCharge.objects.get().invoice == april


def test_the_installation_fee_is_on_the_first_invoice_only(deliver, alice_subscribed, run_march, invoice_of):
    deliver(subscription_created(subscription_id=502, plan={**HOGAR_20, "installation_fee": "30.00"}))

    run_march()
    invoicing.billing_run(month=APRIL, today=APRIL, now=NOW)

    assert invoice_of(502).total == D("28.75") + D("34.50")
    assert invoice_of(502, APRIL).total == D("28.75")


def test_a_subscription_whose_client_never_arrived_waits_for_a_later_run(deliver, run_march):
    deliver(subscription_created(client_id=77))

    result = run_march()

    assert (result.issued, result.waiting_for_account) == (0, 1)
    assert not Invoice.objects.exists()


def test_staff_issue_one_subscription_invoice_once(alice_subscribed, now):
    first = invoicing.invoice_issue(subscription=alice_subscribed, month=MARCH, today=MARCH, now=now)
    second = invoicing.invoice_issue(subscription=alice_subscribed, month=MARCH, today=MARCH, now=now)

    assert first == second
    assert Invoice.objects.count() == 1


@pytest.mark.django_db(databases=["default", "billing"], transaction=True)
def test_two_concurrent_runs_number_every_invoice_once_without_gaps():
    SubscriptionFactory.create_batch(120)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            invoicing.billing_run(month=MARCH, today=MARCH, now=NOW, chunk_size=7)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sequentials = sorted(Invoice.objects.values_list("sequential", flat=True))
    assert sequentials == list(range(1, 121))
    assert Invoice.objects.values("subscription").distinct().count() == 120


def test_a_chunk_read_ahead_skips_what_another_issuer_invoiced_before_it_took_the_lock(now):
    # A run outside a transaction reads and prices its next chunk before it takes the counter
    # lock; an invoice issued meanwhile (here by the admin's "issue now") is not issued twice.
    subscriptions = SubscriptionFactory.create_batch(3)
    period = (MARCH, date(2025, 3, 31))
    chunk = invoicing._chunk_read(billing_day=1, period=period, after=0, limit=10)
    assert [d.subscription_pk for d in chunk.drafts] == [s.pk for s in subscriptions]

    invoicing.invoice_issue(subscription=subscriptions[1], month=MARCH, today=MARCH, now=now)
    last, issued, waiting, handled = invoicing._chunk_issue(
        read=chunk, period=period, today=MARCH, due_date=date(2025, 3, 11), now=now
    )

    assert (last, issued, waiting, handled) == (subscriptions[-1].pk, 2, 0, 3)
    assert sorted(Invoice.objects.values_list("subscription_id", "sequential")) == [
        (subscriptions[0].pk, 2),
        (subscriptions[1].pk, 1),
        (subscriptions[2].pk, 3),
    ]


def test_a_customer_name_with_commas_and_quotes_is_kept_as_written(deliver, run_march, invoice_of):
    from tests.backoffice.billing.conftest import client_event

    deliver(client_event(name='Ferretería "El Clavo", S.A.', identification="0990000000001"))
    deliver(subscription_created())

    run_march()

    invoice = invoice_of(501)
    assert (invoice.customer_name, invoice.customer_identification) == (
        'Ferretería "El Clavo", S.A.',
        "0990000000001",
    )
