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
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from backoffice.billing import pricing
from backoffice.billing.ledger import DB, account_lock, credits_allocate
from backoffice.billing.models import (
    BillingSubscription,
    CreditNote,
    DocumentKind,
    DunningSettings,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PendingCharge,
)
from backoffice.billing.services import counter_lock
from enlace_messaging import catalog
from enlace_messaging.django.models import OutboxMessage
from enlace_messaging.django.outbox import outbox_put_many
from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)

CHUNK = 10_000  # fewer commits (each waits for the WAL flush); about 10 MB of COPY text per chunk


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
    billed_days = set(BillingSubscription.objects.values_list("billing_day", flat=True).distinct())
    for billing_day in [day for day in _days(billing_days) if day in billed_days]:
        period = pricing.billing_period(billing_day=billing_day, month=month)
        after = 0
        while True:
            chunk = _chunk_issue(
                billing_day=billing_day,
                month=month,
                period=period,
                after=after,
                limit=chunk_size,
                today=today,
                due_date=today + timedelta(days=due_days),
                now=now,
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
    """An invoice about to be inserted (plain data: building model objects costs more than
    inserting the rows)."""

    subscription_pk: int
    subscription_id: int  # the clients service's id (the invoice refers to billing's row)
    client_id: int
    customer_name: str
    customer_identification: str
    language: str
    priced: _Priced
    charges: list[tuple[int, pricing.LineDraft]]
    pk: int = 0
    sequential: int = 0
    number: str = ""

    def lines(self) -> list[pricing.LineDraft]:
        return self.priced.lines + [charge for _pk, charge in self.charges]

    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        return self.priced.totals if not self.charges else pricing.totals(self.lines())


@dataclass
class _Priced:
    """The period lines shared by every subscription with the same plans and dates."""

    lines: list[pricing.LineDraft]
    totals: tuple[Decimal, Decimal, Decimal]
    # The lines as COPY text after "invoice id,": computed once for all who share them.
    copy_text: list[str]


# Subscriptions due in a chunk, with their client's details (NULL: the client never arrived).
# The joins are written so that a chunk costs the same at the end of a run as at the start:
# the accounts are looked up per row by their unique index (LATERAL on PostgreSQL; a hash join
# would read every account for every chunk), and the invoices checked are bounded to the
# chunk's side of ``after``.
_DUE_SQL = """
SELECT s.id, s.subscription_id, s.client_id, s.start_date, s.end_date, a.name, a.identification, a.language
FROM billing_billingsubscription s
LEFT JOIN {lateral} (
    SELECT name, identification, language FROM billing_billingaccount WHERE client_id = s.client_id
) a ON true
WHERE s.billing_day = %s AND s.start_date <= %s AND (s.end_date IS NULL OR s.end_date >= %s)
  AND s.id > %s {only}
  AND NOT EXISTS (
    SELECT 1 FROM billing_invoice i
    WHERE i.subscription_id = s.id AND i.subscription_id > %s AND i.period_start = %s
  )
ORDER BY s.id
LIMIT %s
"""
_DUE_SQL_PLAIN = _DUE_SQL.replace(
    """LEFT JOIN {lateral} (
    SELECT name, identification, language FROM billing_billingaccount WHERE client_id = s.client_id
) a ON true""",
    "LEFT JOIN billing_billingaccount a ON a.client_id = s.client_id",
)


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
    connection = connections[DB]
    with transaction.atomic(using=DB):
        # First the lock, then the reads: a run that waited here sees the invoices the other
        # run committed meanwhile (READ COMMITTED takes a new snapshot per statement).
        counter = counter_lock(kind=DocumentKind.INVOICE)
        with connection.cursor() as cursor:
            params: list[Any] = [billing_day, period_end, period_start, after]
            if only is not None:
                params.append(only)
            only_sql = "AND s.id = %s" if only is not None else ""
            if connection.vendor == "postgresql":
                sql = _DUE_SQL.format(lateral="LATERAL", only=only_sql)
            else:
                sql = _DUE_SQL_PLAIN.format(only=only_sql)
            cursor.execute(sql, [*params, after, period_start, limit])
            rows = cursor.fetchall()
        if not rows:
            return None
        low, high = rows[0][0], rows[-1][0]
        segments = _segments_of(low, high, period_end)
        charges = _charges_of(low, high)
        priced: dict[tuple[object, ...], _Priced] = {}
        drafts: list[_Draft] = []
        for pk, subscription_id, client_id, start_date, end_date, name, identification, language in rows:
            if name is None:
                logger.warning("subscription %s: no account for client %s yet", subscription_id, client_id)
                continue
            own = segments.get(pk, ())
            # Clipped to the period, so every subscription on one plan for the whole period
            # shares one computation.
            key = (own, max(start_date, period_start), min(end_date or period_end, period_end))
            shared = priced.get(key)
            if shared is None:
                lines = pricing.period_lines(
                    segments=own,
                    start_date=start_date,
                    end_date=end_date,
                    period_start=period_start,
                    period_end=period_end,
                )
                shared = priced[key] = _Priced(lines, pricing.totals(lines), _lines_copy_text(lines))
            extra = charges.get(pk, [])
            if not shared.lines and not extra:
                continue
            drafts.append(
                _Draft(pk, subscription_id, client_id, name, identification, language, shared, extra)
            )
        first = counter.last_number + 1
        counter.last_number += len(drafts)
        counter.save(update_fields=["last_number"])
        for offset, draft in enumerate(drafts):
            draft.sequential = first + offset
            draft.number = pricing.document_number(
                counter.establishment, counter.emission_point, first + offset
            )
        _insert(
            drafts,
            establishment=counter.establishment,
            emission_point=counter.emission_point,
            period=period,
            today=today,
            due_date=due_date,
            now=now,
        )
        charged = {charge_pk: d.pk for d in drafts for charge_pk, _line in d.charges}
        if charged:
            updates = list(PendingCharge.objects.filter(pk__in=charged))
            for charge in updates:
                charge.invoice_id = charged[charge.pk]
            PendingCharge.objects.bulk_update(updates, ["invoice"])
        _credits_apply({d.client_id for d in drafts}, now=now)
        return rows[-1][0], len(drafts), len(rows) - len(drafts)


def _segments_of(low: int, high: int, until: date) -> dict[int, tuple[pricing.Segment, ...]]:
    """The plan segments of subscriptions ``low``..``high`` (a range: cheaper than a long IN)."""
    found: dict[int, list[pricing.Segment]] = defaultdict(list)
    seen: dict[tuple[object, ...], pricing.Segment] = {}
    with connections[DB].cursor() as cursor:
        cursor.execute(
            "SELECT subscription_id, effective_from, plan_code, plan_name, monthly_price, tax_rate "
            "FROM billing_plansegment "
            "WHERE subscription_id BETWEEN %s AND %s AND effective_from <= %s "
            "ORDER BY subscription_id, effective_from",
            [low, high, until],
        )
        rows: Any = cursor.fetchall()
    if connections[DB].vendor == "sqlite":
        # A raw cursor on SQLite (embedded mode) returns numeric columns as int or float:
        # back to Decimal through their text, exact for the decimals stored.
        rows = [(pk, *rest, Decimal(str(price)), Decimal(str(rate))) for pk, *rest, price, rate in rows]
    for pk, *values in rows:
        key = tuple(values)
        segment = seen.get(key)
        if segment is None:
            segment = seen[key] = pricing.Segment(*key)
        found[pk].append(segment)
    return {pk: tuple(segments) for pk, segments in found.items()}


def _charges_of(low: int, high: int) -> dict[int, list[tuple[int, pricing.LineDraft]]]:
    found: dict[int, list[tuple[int, pricing.LineDraft]]] = defaultdict(list)
    charges = PendingCharge.objects.filter(
        subscription__gte=low, subscription__lte=high, invoice__isnull=True
    ).order_by("pk")
    for charge in charges:
        found[charge.subscription_id].append(
            (
                charge.pk,
                pricing.line(
                    description=charge.description, subtotal=charge.amount, tax_rate=charge.tax_rate
                ),
            )
        )
    return found


def _credits_apply(client_ids: set[int], *, now: datetime) -> None:
    """Applies unused payments and credit notes of these clients to their new invoices."""
    # Few clients have credit at any time (a partial index holds them): read those and
    # intersect, rather than send the chunk's thousands of client ids to the database.
    with_credit = (
        set(Payment.objects.filter(unallocated__gt=0).values_list("client_id", flat=True))
        | set(CreditNote.objects.filter(unallocated__gt=0).values_list("client_id", flat=True))
    ) & client_ids
    for client_id in sorted(with_credit):  # a fixed order: two runs lock accounts alike
        account_lock(client_id=client_id)
        credits_allocate(client_id=client_id, now=now)


def _csv_text(value: str) -> str:
    """``value`` as one CSV field (quoted only when it must be)."""
    if any(c in value for c in ',"\n\r\\') or not value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_row(values: Sequence[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def _lines_copy_text(lines: Sequence[pricing.LineDraft]) -> list[str]:
    return [
        _csv_row(
            [
                n,
                line.description,
                line.days,
                line.period_days,
                line.unit_price,
                line.subtotal,
                line.tax_rate,
                line.tax,
                line.total,
            ]
        )
        for n, line in enumerate(lines, start=1)
    ]


# ``Envelope.to_json`` of a billing.invoice.issued message (keys sorted, no spaces), as a
# template: every value is a number, a date or an invoice number, none needs JSON escaping.
_ISSUED_JSON = (
    '{{"causation_id":null,"correlation_id":"{id}","data":{{"client_id":{client_id},'
    '"due_date":"{due_date}","invoice_number":"{number}","period_end":"{period_end}",'
    '"period_start":"{period_start}","subscription_id":{subscription_id},"total":"{total}"}},'
    '"id":"{id}","occurred_at":"{occurred_at}","source":"billing","type":"billing.invoice.issued",'
    '"version":1}}'
)


def _uuid4_text() -> str:
    """A random (version 4) UUID as text, without building a ``uuid.UUID`` (100,000 per run)."""
    value = int.from_bytes(os.urandom(16), "big")
    value = (value & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _issued_payload(
    draft: _Draft, total: Decimal, *, occurred_at: str, period: tuple[date, date], due_date: date
) -> tuple[str, bytes]:
    """A ``billing.invoice.issued`` envelope as the outbox stores it, written directly: the
    schema is checked once per chunk (see ``_insert``), not 100,000 times."""
    message_id = _uuid4_text()
    text = _ISSUED_JSON.format(
        id=message_id,
        client_id=int(draft.client_id),
        due_date=due_date.isoformat(),
        number=draft.number,
        period_end=period[1].isoformat(),
        period_start=period[0].isoformat(),
        subscription_id=int(draft.subscription_id),
        total=f"{total:.2f}",
        occurred_at=occurred_at,
    )
    return message_id, text.encode("ascii")


def _insert(
    drafts: list[_Draft],
    *,
    establishment: str,
    emission_point: str,
    period: tuple[date, date],
    today: date,
    due_date: date,
    now: datetime,
) -> None:
    if not drafts:
        return
    occurred_at = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    messages = [
        _issued_payload(d, d.totals()[2], occurred_at=occurred_at, period=period, due_date=due_date)
        for d in drafts
    ]
    # Every message is built alike: checking the first against the schema checks them all.
    check = Envelope.from_json(messages[0][1])
    assert check.to_json() == messages[0][1], "the invoice.issued template drifted from Envelope.to_json"
    connection = connections[DB]
    if connection.vendor != "postgresql":
        _insert_orm(drafts, messages, establishment, emission_point, period, today, due_date, now)
        return
    created = now.isoformat()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Invoice._meta.db_table, len(drafts)],
        )
        for draft, (pk,) in zip(drafts, cursor.fetchall(), strict=True):
            draft.pk = pk
        fixed = f"{establishment},{emission_point}"
        dates = f"{period[0]},{period[1]},{today},{due_date}"
        status = InvoiceStatus.ISSUED.value
        out: list[str] = []
        for d in drafts:
            subtotal, tax, total = d.totals()
            out.append(
                f"{d.pk},{d.number},{fixed},{d.sequential},{d.client_id},{d.subscription_pk},{dates},"
                f"{_csv_text(d.customer_name)},{_csv_text(d.customer_identification)},{d.language},USD,"
                f"{subtotal},{tax},{total},0.00,{status},{created}\n"
            )
        text = "".join(out)
        _copy(
            cursor,
            Invoice._meta.db_table,
            [
                "id",
                "number",
                "establishment",
                "emission_point",
                "sequential",
                "client_id",
                "subscription_id",
                "period_start",
                "period_end",
                "issue_date",
                "due_date",
                "customer_name",
                "customer_identification",
                "language",
                "currency",
                "subtotal",
                "tax",
                "total",
                "amount_paid",
                "status",
                "created_at",
            ],
            text,
        )
        lines = io.StringIO()
        for d in drafts:
            for text_line in d.priced.copy_text:
                lines.write(f"{d.pk},{text_line}\n")
            if d.charges:
                offset = len(d.priced.lines)
                for n, (_pk, charge) in enumerate(d.charges, start=offset + 1):
                    extra = _lines_copy_text([charge])[0].split(",", 1)[1]
                    lines.write(f"{d.pk},{n},{extra}\n")
        _copy(
            cursor,
            InvoiceLine._meta.db_table,
            [
                "invoice_id",
                "position",
                "description",
                "days",
                "period_days",
                "unit_price",
                "subtotal",
                "tax_rate",
                "tax",
                "total",
            ],
            lines.getvalue(),
        )
        topic = catalog.BILLING_EVENTS
        outbox = io.StringIO()
        for d, (message_id, payload) in zip(drafts, messages, strict=True):
            outbox.write(
                f'{message_id},{topic},{d.client_id},billing.invoice.issued,\\x{payload.hex()},{created},0,""\n'
            )
        _copy(
            cursor,
            OutboxMessage._meta.db_table,
            ["message_id", "topic", "key", "message_type", "payload", "created_at", "attempts", "last_error"],
            outbox.getvalue(),
        )


def _insert_orm(
    drafts: list[_Draft],
    messages: list[tuple[str, bytes]],
    establishment: str,
    emission_point: str,
    period: tuple[date, date],
    today: date,
    due_date: date,
    now: datetime,
) -> None:
    """The same rows with bulk INSERTs, for databases without COPY (SQLite in development)."""
    invoices = []
    for d in drafts:
        subtotal, tax, total = d.totals()
        invoices.append(
            Invoice(
                number=d.number,
                establishment=establishment,
                emission_point=emission_point,
                sequential=d.sequential,
                client_id=d.client_id,
                subscription_id=d.subscription_pk,
                period_start=period[0],
                period_end=period[1],
                issue_date=today,
                due_date=due_date,
                customer_name=d.customer_name,
                customer_identification=d.customer_identification,
                language=d.language,
                subtotal=subtotal,
                tax=tax,
                total=total,
                created_at=now,
            )
        )
    Invoice.objects.bulk_create(invoices, batch_size=500)
    for draft, invoice in zip(drafts, invoices, strict=True):
        draft.pk = invoice.pk
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(invoice_id=d.pk, position=n, **_line_fields(line))
            for d in drafts
            for n, line in enumerate(d.lines(), start=1)
        ],
        batch_size=500,
    )
    outbox_put_many(
        using=DB,
        messages=[
            (catalog.BILLING_EVENTS, str(d.client_id), Envelope.from_json(payload))
            for d, (_id, payload) in zip(drafts, messages, strict=True)
        ],
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


def _copy(cursor: object, table: str, columns: list[str], text: str) -> None:
    """``COPY table (columns) FROM STDIN`` of CSV ``text``: the fastest way PostgreSQL takes rows."""
    buffer = io.StringIO(text)
    quoted = ", ".join(f'"{column}"' for column in columns)
    cursor.copy_expert(f"COPY \"{table}\" ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)  # type: ignore[attr-defined]


def invoice_issue(
    *, subscription: BillingSubscription, month: date, today: date, now: datetime
) -> Invoice | None:
    """Issues ``subscription``'s invoice for its period starting in ``month``'s month (a billing
    run of one); returns it, or None when nothing is due. Issuing twice returns the first one."""
    period = pricing.billing_period(billing_day=subscription.billing_day, month=month)
    _chunk_issue(
        billing_day=subscription.billing_day,
        month=month,
        period=period,
        after=0,
        limit=1,
        today=today,
        due_date=today + timedelta(days=dunning_settings().due_days),
        now=now,
        only=subscription.pk,
    )
    return Invoice.objects.filter(subscription=subscription, period_start=period[0]).first()
