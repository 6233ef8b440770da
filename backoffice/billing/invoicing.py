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

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from backoffice.billing import pricing
from backoffice.billing.invoice_rows import Draft, Priced, priced, rows_insert
from backoffice.billing.ledger import DB, account_lock, credits_allocate
from backoffice.billing.models import (
    BillingSubscription,
    CreditNote,
    DocumentKind,
    DunningSettings,
    Invoice,
    Payment,
    PendingCharge,
)
from backoffice.billing.services import counter_lock

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
    connection = connections[DB]
    # Outside a transaction on PostgreSQL, the next chunk is read and priced on a second
    # connection while this one writes the current chunk (the server works while Python prices).
    # Inside a caller's transaction the reads must see its uncommitted rows: one connection.
    read_ahead = connection.vendor == "postgresql" and not connection.in_atomic_block
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="billing-run-reader") as reader:
        try:
            for billing_day in [day for day in _days(billing_days) if day in billed_days]:
                period = pricing.billing_period(billing_day=billing_day, month=month)

                def read(
                    after: int, billing_day: int = billing_day, period: tuple[date, date] = period
                ) -> _Chunk:
                    return _chunk_read(billing_day=billing_day, period=period, after=after, limit=chunk_size)

                ahead: Future[_Chunk] | None = reader.submit(read, 0) if read_ahead else None
                after = 0
                while True:
                    chunk = ahead.result() if ahead is not None else None
                    if chunk is not None and chunk.rows_read:
                        ahead = reader.submit(read, chunk.last)
                    result = _chunk_issue(
                        read=chunk if chunk is not None else partial(read, after),
                        period=period,
                        today=today,
                        due_date=today + timedelta(days=due_days),
                        now=now,
                    )
                    if result is None:
                        break
                    after, count, skipped, handled = result
                    issued += count
                    waiting += skipped
                    if progress is not None:
                        progress(handled)
        finally:
            if read_ahead:
                # The reader thread's connection dies with the run, not with the process.
                reader.submit(lambda: connections[DB].close()).result()
    return RunResult(month=month, issued=issued, waiting_for_account=waiting)


@dataclass
class _Chunk:
    """A chunk's subscriptions read and priced, not yet numbered nor written."""

    rows_read: int
    last: int  # the last subscription pk read: the next chunk starts after it
    drafts: list[Draft]
    waiting: int = 0  # due, but their client's details never arrived


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


def _chunk_read(
    *, billing_day: int, period: tuple[date, date], after: int, limit: int, only: int | None = None
) -> _Chunk:
    """Reads and prices the (up to ``limit``) subscriptions due after pk ``after`` that have no
    invoice for ``period`` yet."""
    period_start, period_end = period
    connection = connections[DB]
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
        return _Chunk(rows_read=0, last=after, drafts=[])
    low, high = rows[0][0], rows[-1][0]
    segments = _segments_of(low, high, period_end)
    charges = _charges_of(low, high)
    shared_by: dict[tuple[object, ...], Priced] = {}
    drafts: list[Draft] = []
    waiting = 0
    for pk, subscription_id, client_id, start_date, end_date, name, identification, language in rows:
        if name is None:
            logger.warning("subscription %s: no account for client %s yet", subscription_id, client_id)
            waiting += 1
            continue
        own = segments.get(pk, ())
        # Clipped to the period, so every subscription on one plan for the whole period
        # shares one computation.
        key = (own, max(start_date, period_start), min(end_date or period_end, period_end))
        shared = shared_by.get(key)
        if shared is None:
            lines = pricing.period_lines(
                segments=own,
                start_date=start_date,
                end_date=end_date,
                period_start=period_start,
                period_end=period_end,
            )
            shared = shared_by[key] = priced(lines)
        extra = charges.get(pk, [])
        if not shared.lines and not extra:
            continue
        drafts.append(Draft(pk, subscription_id, client_id, name, identification, language, shared, extra))
    return _Chunk(rows_read=len(rows), last=rows[-1][0], drafts=drafts, waiting=waiting)


def _chunk_issue(
    *,
    read: _Chunk | Callable[[], _Chunk],
    period: tuple[date, date],
    today: date,
    due_date: date,
    now: datetime,
) -> tuple[int, int, int, int] | None:
    """Issues a chunk: ``read`` already (before the lock, by the read-ahead), or reads it after
    taking the lock. Returns (last pk, issued, waiting for their account, subscriptions handled)
    or None when nothing was left."""
    period_start = period[0]
    with transaction.atomic(using=DB):
        # First the lock, then the reads: a run that waited here sees the invoices the other
        # run committed meanwhile (READ COMMITTED takes a new snapshot per statement).
        counter = counter_lock(kind=DocumentKind.INVOICE)
        if isinstance(read, _Chunk):
            chunk = read
            if chunk.drafts:
                # Read before the lock: drop what another run invoiced since.
                invoiced = set(
                    Invoice.objects.filter(
                        subscription_id__gte=chunk.drafts[0].subscription_pk,
                        subscription_id__lte=chunk.last,
                        period_start=period_start,
                    ).values_list("subscription_id", flat=True)
                )
                if invoiced:
                    chunk.drafts = [d for d in chunk.drafts if d.subscription_pk not in invoiced]
        else:
            chunk = read()
        if not chunk.rows_read:
            return None
        drafts = chunk.drafts
        first = counter.last_number + 1
        counter.last_number += len(drafts)
        counter.save(update_fields=["last_number"])
        for offset, draft in enumerate(drafts):
            draft.sequential = first + offset
            draft.number = pricing.document_number(
                counter.establishment, counter.emission_point, first + offset
            )
        rows_insert(
            drafts,
            establishment=counter.establishment,
            emission_point=counter.emission_point,
            period=period,
            today=today,
            due_date=due_date,
            now=now,
        )
        charged = [charge_pk for d in drafts for charge_pk, _line in d.charges]
        if charged:
            # One statement for the chunk (a bulk_update builds a CASE per charge): each charge
            # billed goes to its subscription's invoice for this period, just inserted.
            PendingCharge.objects.filter(pk__in=charged).update(
                invoice_id=Subquery(
                    Invoice.objects.filter(
                        subscription_id=OuterRef("subscription_id"), period_start=period_start
                    ).values("pk")[:1]
                )
            )
        _credits_apply({d.client_id for d in drafts}, now=now)
        return chunk.last, len(drafts), chunk.waiting, chunk.rows_read


def _segments_of(low: int, high: int, until: date) -> dict[int, tuple[pricing.Segment, ...]]:
    """The plan segments of subscriptions ``low``..``high`` (a range: cheaper than a long IN)."""
    found: dict[int, list[pricing.Segment]] = defaultdict(list)
    seen: dict[tuple[object, ...], pricing.Segment] = {}
    with connections[DB].cursor() as cursor:
        # As text: most rows repeat a few plans, so each distinct segment is parsed once
        # (a Decimal and a date per row cost more than the rest of the row).
        cursor.execute(
            "SELECT subscription_id, CAST(effective_from AS TEXT), plan_code, plan_name, "
            "CAST(monthly_price AS TEXT), CAST(tax_rate AS TEXT) "
            "FROM billing_plansegment "
            "WHERE subscription_id BETWEEN %s AND %s AND effective_from <= %s "
            "ORDER BY subscription_id, effective_from",
            [low, high, until],
        )
        rows = cursor.fetchall()
    for pk, *values in rows:
        key = tuple(values)
        segment = seen.get(key)
        if segment is None:
            effective_from, code, name, price, rate = key
            segment = seen[key] = pricing.Segment(
                date.fromisoformat(effective_from), code, name, Decimal(price), Decimal(rate)
            )
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


def invoice_issue(
    *, subscription: BillingSubscription, month: date, today: date, now: datetime
) -> Invoice | None:
    """Issues ``subscription``'s invoice for its period starting in ``month``'s month (a billing
    run of one); returns it, or None when nothing is due. Issuing twice returns the first one."""
    period = pricing.billing_period(billing_day=subscription.billing_day, month=month)
    _chunk_issue(
        read=lambda: _chunk_read(
            billing_day=subscription.billing_day, period=period, after=0, limit=1, only=subscription.pk
        ),
        period=period,
        today=today,
        due_date=today + timedelta(days=dunning_settings().due_days),
        now=now,
    )
    return Invoice.objects.filter(subscription=subscription, period_start=period[0]).first()
