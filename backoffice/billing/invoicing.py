"""The billing run: one invoice per subscription per period, issued in bulk.

A run works through the subscriptions due in chunks, each chunk in one transaction that

1. locks the invoice number counter (concurrent runs take turns here, and after the lock each
   sees the invoices the other committed, so neither invoices a subscription twice),
2. reads the chunk's subscriptions that have no invoice for the period, their plan segments,
   pending charges and accounts (a few set-based queries),
3. prices them in Python (identical subscriptions share one computation),
4. reserves a block of numbers and inserts the invoices, their lines and their
   ``billing.invoice.issued`` events with ``COPY`` (PostgreSQL; bulk INSERTs elsewhere),
5. applies the clients' unused credit to the new invoices.

The unique constraint (subscription, period_start) is the last word on "once per period".
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from backoffice.billing import pricing
from backoffice.billing.ledger import DB, SOURCE, account_lock, credits_allocate
from backoffice.billing.models import (
    BillingAccount,
    BillingSubscription,
    CreditNote,
    DocumentKind,
    DunningSettings,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PendingCharge,
    PlanSegment,
)
from backoffice.billing.services import counter_lock
from backoffice.messaging import catalog
from backoffice.messaging.envelope import Envelope
from backoffice.messaging.models import OutboxMessage
from backoffice.messaging.outbox import outbox_put_many

logger = logging.getLogger(__name__)

CHUNK = 5000


@dataclass(frozen=True)
class RunResult:
    month: date
    issued: int
    # Subscriptions due whose client's details never arrived (billed by a later run).
    waiting_for_account: int


def dunning_settings() -> DunningSettings:
    """The one settings row (created with the defaults on first use)."""
    settings_row = DunningSettings.objects.order_by("id").first()
    if settings_row is None:
        settings_row = DunningSettings.objects.create(reminder_offsets=[-3, 0, 3], grace_days=5, due_days=10)
    return settings_row


def _due(*, billing_day: int, month: date) -> QuerySet[BillingSubscription]:
    start, end = pricing.billing_period(billing_day=billing_day, month=month)
    return (
        BillingSubscription.objects.filter(billing_day=billing_day, start_date__lte=end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
        .filter(~Exists(Invoice.objects.filter(subscription=OuterRef("pk"), period_start=start)))
    )


def billing_run_pending(*, month: date, billing_days: Iterable[int] | None = None) -> int:
    """How many subscriptions a run for ``month`` would invoice now (for a progress bar)."""
    return sum(_due(billing_day=day, month=month).count() for day in _days(billing_days))


def _days(billing_days: Iterable[int] | None) -> list[int]:
    return sorted(set(billing_days)) if billing_days is not None else list(range(1, 29))


def billing_run(
    *,
    month: date,
    today: date,
    now: datetime,
    billing_days: Iterable[int] | None = None,
    chunk_size: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Invoices every subscription billed on ``billing_days`` (default: all) for its period
    starting in ``month``'s month, dated ``today``. Running it again issues only what is missing;
    two runs at once issue each invoice once, numbered without gaps.

    ``progress`` is called with the number of subscriptions handled after each chunk.
    """
    due_days = dunning_settings().due_days
    issued = waiting = 0
    for billing_day in _days(billing_days):
        period = pricing.billing_period(billing_day=billing_day, month=month)
        after = 0
        while True:
            chunk = _chunk_issue(
                billing_day=billing_day, month=month, period=period, after=after, limit=chunk_size,
                today=today, due_date=today + timedelta(days=due_days), now=now,
            )
            if chunk is None:
                break
            after, count, skipped = chunk
            issued += count
            waiting += skipped
            if progress is not None:
                progress(count + skipped)
    return RunResult(month=month, issued=issued, waiting_for_account=waiting)


@dataclass
class _Draft:
    invoice: Invoice
    lines: list[pricing.LineDraft]
    charge_ids: list[int]
    subscription_id: int  # the clients service's id (the invoice refers to billing's row)


def _chunk_issue(
    *,
    billing_day: int,
    month: date,
    period: tuple[date, date],
    after: int,
    limit: int,
    today: date,
    due_date: date,
    now: datetime,
    only: int | None = None,
) -> tuple[int, int, int] | None:
    """Issues the next chunk after subscription pk ``after``; returns (last pk, issued, waiting)
    or None when nothing is left."""
    period_start, period_end = period
    with transaction.atomic(using=DB):
        counter = counter_lock(kind=DocumentKind.INVOICE)
        due = _due(billing_day=billing_day, month=month)
        if only is not None:
            due = due.filter(pk=only)
        rows = list(
            due.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "subscription_id", "client_id", "start_date", "end_date")[:limit]
        )
        if not rows:
            return None
        pks = [row[0] for row in rows]
        segments = _segments_of(pks, period_end)
        charges = _charges_of(pks)
        accounts = {
            a["client_id"]: a
            for a in BillingAccount.objects.filter(client_id__in={row[2] for row in rows}).values(
                "client_id", "name", "identification", "language"
            )
        }
        priced: dict[tuple[object, ...], list[pricing.LineDraft]] = {}
        drafts: list[_Draft] = []
        for pk, subscription_id, client_id, start_date, end_date in rows:
            account = accounts.get(client_id)
            if account is None:
                logger.warning("subscription %s: no account for client %s yet", subscription_id, client_id)
                continue
            own = segments.get(pk, ())
            # Clipped to the period, so every subscription on one plan for the whole period
            # shares one computation.
            key = (own, max(start_date, period_start), min(end_date or period_end, period_end))
            lines = priced.get(key)
            if lines is None:
                lines = pricing.period_lines(
                    segments=own, start_date=start_date, end_date=end_date,
                    period_start=period_start, period_end=period_end,
                )
                priced[key] = lines
            extra = charges.get(pk, [])
            all_lines = lines + [c[1] for c in extra]
            if not all_lines:
                continue
            subtotal, tax, total = pricing.totals(all_lines)
            drafts.append(
                _Draft(
                    invoice=Invoice(
                        client_id=client_id,
                        subscription_id=pk,
                        period_start=period_start,
                        period_end=period_end,
                        issue_date=today,
                        due_date=due_date,
                        customer_name=account["name"],
                        customer_identification=account["identification"],
                        language=account["language"],
                        subtotal=subtotal,
                        tax=tax,
                        total=total,
                        created_at=now,
                    ),
                    lines=all_lines,
                    charge_ids=[c[0] for c in extra],
                    subscription_id=subscription_id,
                )
            )
        first = counter.last_number + 1
        counter.last_number += len(drafts)
        counter.save(update_fields=["last_number"])
        for offset, draft in enumerate(drafts):
            invoice = draft.invoice
            invoice.establishment = counter.establishment
            invoice.emission_point = counter.emission_point
            invoice.sequential = first + offset
            invoice.number = pricing.document_number(counter.establishment, counter.emission_point, first + offset)
        _insert(drafts, now=now)
        charged = {charge_id: d.invoice.pk for d in drafts for charge_id in d.charge_ids}
        if charged:
            updates = list(PendingCharge.objects.filter(pk__in=charged))
            for charge in updates:
                charge.invoice_id = charged[charge.pk]
            PendingCharge.objects.bulk_update(updates, ["invoice"])
        _credits_apply({d.invoice.client_id for d in drafts}, now=now)
        return rows[-1][0], len(drafts), len(rows) - len(drafts)


def _segments_of(pks: Sequence[int], until: date) -> dict[int, tuple[pricing.Segment, ...]]:
    found: dict[int, list[pricing.Segment]] = defaultdict(list)
    seen: dict[tuple[object, ...], pricing.Segment] = {}
    for pk, *values in (
        PlanSegment.objects.filter(subscription_id__in=pks, effective_from__lte=until)
        .order_by("subscription_id", "effective_from")
        .values_list("subscription_id", "effective_from", "plan_code", "plan_name", "monthly_price", "tax_rate")
    ):
        key = tuple(values)
        segment = seen.get(key)
        if segment is None:
            segment = seen[key] = pricing.Segment(*values)
        found[pk].append(segment)
    return {pk: tuple(segments) for pk, segments in found.items()}


def _charges_of(pks: Sequence[int]) -> dict[int, list[tuple[int, pricing.LineDraft]]]:
    found: dict[int, list[tuple[int, pricing.LineDraft]]] = defaultdict(list)
    for charge in PendingCharge.objects.filter(subscription_id__in=pks, invoice__isnull=True).order_by("pk"):
        found[charge.subscription_id].append(
            (charge.pk, pricing.line(description=charge.description, subtotal=charge.amount, tax_rate=charge.tax_rate))
        )
    return found


def _credits_apply(client_ids: set[int], *, now: datetime) -> None:
    """Applies unused payments and credit notes of these clients to their new invoices."""
    with_credit = set(
        Payment.objects.filter(client_id__in=client_ids, unallocated__gt=0).values_list("client_id", flat=True)
    ) | set(
        CreditNote.objects.filter(client_id__in=client_ids, unallocated__gt=0).values_list("client_id", flat=True)
    )
    for client_id in sorted(with_credit):  # a fixed order: two runs lock accounts alike
        account_lock(client_id=client_id)
        credits_allocate(client_id=client_id, now=now)


def _issued_envelope(draft: _Draft, *, now: datetime) -> Envelope:
    invoice = draft.invoice
    message_id = str(uuid.uuid4())
    # Built directly (not Envelope.new): the schema is checked once per chunk, not 100,000 times.
    return Envelope(
        type="billing.invoice.issued",
        data={
            "client_id": invoice.client_id,
            "subscription_id": draft.subscription_id,
            "invoice_number": invoice.number,
            "period_start": invoice.period_start.isoformat(),
            "period_end": invoice.period_end.isoformat(),
            "total": f"{invoice.total:.2f}",
            "due_date": invoice.due_date.isoformat(),
        },
        source=SOURCE,
        id=message_id,
        occurred_at=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        correlation_id=message_id,
    )


def _insert(drafts: list[_Draft], *, now: datetime) -> None:
    if not drafts:
        return
    envelopes = [_issued_envelope(d, now=now) for d in drafts]
    catalog.validate_data(envelopes[0].type, envelopes[0].version, envelopes[0].data)
    connection = connections[DB]
    if connection.vendor != "postgresql":
        Invoice.objects.bulk_create([d.invoice for d in drafts], batch_size=500)
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(invoice=d.invoice, position=n, **_line_fields(line))
                for d in drafts
                for n, line in enumerate(d.lines, start=1)
            ],
            batch_size=500,
        )
        outbox_put_many(
            using=DB, messages=[(catalog.BILLING_EVENTS, str(e.data["client_id"]), e) for e in envelopes]
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Invoice._meta.db_table, len(drafts)],
        )
        for draft, (pk,) in zip(drafts, cursor.fetchall(), strict=True):
            draft.invoice.pk = pk
        _copy(
            cursor,
            Invoice._meta.db_table,
            [
                "id", "number", "establishment", "emission_point", "sequential", "client_id",
                "subscription_id", "period_start", "period_end", "issue_date", "due_date",
                "customer_name", "customer_identification", "language", "currency", "subtotal", "tax",
                "total", "amount_paid", "status", "created_at",
            ],
            (
                (
                    i.pk, i.number, i.establishment, i.emission_point, i.sequential, i.client_id,
                    i.subscription_id, i.period_start, i.period_end, i.issue_date, i.due_date,
                    i.customer_name, i.customer_identification, i.language, "USD", i.subtotal, i.tax,
                    i.total, "0.00", InvoiceStatus.ISSUED, now.isoformat(),
                )
                for d in drafts
                for i in [d.invoice]
            ),
        )
        _copy(
            cursor,
            InvoiceLine._meta.db_table,
            ["invoice_id", "position", "description", "days", "period_days", "unit_price", "subtotal",
             "tax_rate", "tax", "total"],
            (
                (d.invoice.pk, n, line.description, line.days, line.period_days, line.unit_price,
                 line.subtotal, line.tax_rate, line.tax, line.total)
                for d in drafts
                for n, line in enumerate(d.lines, start=1)
            ),
        )
        _copy(
            cursor,
            OutboxMessage._meta.db_table,
            ["message_id", "topic", "key", "message_type", "payload", "created_at", "attempts", "last_error"],
            (
                (e.id, catalog.BILLING_EVENTS, str(e.data["client_id"]), e.type,
                 "\\x" + e.to_json().hex(), now.isoformat(), 0, "")
                for e in envelopes
            ),
        )


def _line_fields(line: pricing.LineDraft) -> dict[str, object]:
    return {
        "description": line.description,
        "days": line.days,
        "period_days": line.period_days,
        "unit_price": line.unit_price,
        "subtotal": line.subtotal,
        "tax_rate": line.tax_rate,
        "tax": line.tax,
        "total": line.total,
    }


def _copy(cursor: object, table: str, columns: list[str], rows: Iterable[Sequence[object]]) -> None:
    """``COPY table (columns) FROM STDIN`` in CSV: the fastest way PostgreSQL takes rows."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    quoted = ", ".join(f'"{column}"' for column in columns)
    cursor.copy_expert(f"COPY \"{table}\" ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)  # type: ignore[attr-defined]


def invoice_issue(*, subscription: BillingSubscription, month: date, today: date, now: datetime) -> Invoice | None:
    """Issues ``subscription``'s invoice for its period starting in ``month``'s month (a billing
    run of one); returns it, or None when nothing is due. Issuing twice returns the first one."""
    period = pricing.billing_period(billing_day=subscription.billing_day, month=month)
    _chunk_issue(
        billing_day=subscription.billing_day, month=month, period=period, after=0, limit=1,
        today=today, due_date=today + timedelta(days=dunning_settings().due_days), now=now,
        only=subscription.pk,
    )
    return Invoice.objects.filter(subscription=subscription, period_start=period[0]).first()
