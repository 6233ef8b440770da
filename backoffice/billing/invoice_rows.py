"""The billing run's writer: a chunk's invoices, their lines and their ``billing.invoice.issued``
outbox rows, written set-based (``COPY`` on PostgreSQL, bulk INSERTs elsewhere) from plain data.

Building model objects and envelopes per invoice costs more than inserting the rows, so the
rows are written as COPY text directly; what many invoices share (their period lines) is
rendered once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connections

from backoffice.billing import pricing
from backoffice.billing.copy_rows import COPY_TEXT_SPECIAL, copy_rows, csv_row, csv_text
from backoffice.billing.ledger import DB
from backoffice.billing.models import Invoice, InvoiceLine, InvoiceStatus
from enlace_messaging import catalog
from enlace_messaging.django.models import OutboxMessage
from enlace_messaging.django.outbox import outbox_put_many
from enlace_messaging.envelope import Envelope


@dataclass(slots=True)
class Draft:
    """An invoice about to be inserted (plain data: building model objects costs more than
    inserting the rows)."""

    subscription_pk: int
    subscription_id: int  # the clients service's id (the invoice refers to billing's row)
    client_id: int
    customer_name: str
    customer_identification: str
    language: str
    priced: Priced
    charges: list[tuple[int, pricing.LineDraft]]
    pk: int = 0
    sequential: int = 0
    number: str = ""

    def lines(self) -> list[pricing.LineDraft]:
        return self.priced.lines + [charge for _pk, charge in self.charges]

    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        return self.priced.totals if not self.charges else pricing.totals(self.lines())

    def totals_text(self) -> str:
        """ "subtotal,tax,total" as COPY text (shared with its plan's subscriptions when it has
        no one-off charge)."""
        return self.priced.totals_text if not self.charges else _totals_text(self.totals())


def _totals_text(totals: tuple[Decimal, Decimal, Decimal]) -> str:
    return ",".join(f"{value:.2f}" for value in totals)


@dataclass(slots=True)
class Priced:
    """The period lines shared by every subscription with the same plans and dates."""

    lines: list[pricing.LineDraft]
    totals: tuple[Decimal, Decimal, Decimal]
    # The lines as COPY text after "invoice id,", and the totals as "subtotal,tax,total":
    # rendered once for all who share them.
    copy_text: list[str]
    totals_text: str


def priced(lines: list[pricing.LineDraft]) -> Priced:
    """``lines`` with their totals and COPY text, to be shared by every subscription they price."""
    totals = pricing.totals(lines)
    return Priced(lines, totals, lines_copy_text(lines), _totals_text(totals))


def lines_copy_text(lines: Sequence[pricing.LineDraft], *, first: int = 1) -> list[str]:
    """``lines`` as COPY rows of billing_invoiceline without the invoice id, numbered from
    ``first``."""
    return [
        csv_row(
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
        for n, line in enumerate(lines, start=first)
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


# The templates whose messages were checked against the schema (in this process).
_TEMPLATES_CHECKED: set[str] = set()


def _issued_template(*, occurred_at: str, period: tuple[date, date], due_date: date) -> str:
    """``_ISSUED_JSON`` with a chunk's shared values filled in, and ``%s`` for the message's
    (id, client id, number, subscription id, total, id, in that order)."""
    shared = [occurred_at, period[0].isoformat(), period[1].isoformat(), due_date.isoformat()]
    assert not any("%" in value for value in shared)
    return _ISSUED_JSON.format(
        id="%s",
        client_id="%s",
        number="%s",
        subscription_id="%s",
        total="%s",
        due_date=shared[3],
        period_start=shared[1],
        period_end=shared[2],
        occurred_at=shared[0],
    )


# The variant nibble of a version 4 UUID is 10xx: 8, 9, a or b, from the random nibble's low bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _uuid4_texts(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the OS's randomness and
    without building ``uuid.UUID`` objects (100,000 per run)."""
    raw = os.urandom(16 * count).hex()
    texts = []
    for start in range(0, 32 * count, 32):
        h = raw[start : start + 32]
        texts.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}")
    return texts


def _issued_payload(draft: Draft, template: str, message_id: str) -> str:
    """``draft``'s ``billing.invoice.issued`` envelope as the outbox stores it, written directly:
    the schema is checked once per process (see ``rows_insert``), not 100,000 times. Pure ASCII
    without backslashes, tabs or newlines (numbers, dates, invoice numbers, UUIDs)."""
    total = draft.priced.totals[2] if not draft.charges else draft.totals()[2]
    return template % (
        message_id,
        draft.client_id,
        draft.number,
        draft.subscription_id,
        f"{total:.2f}",
        message_id,
    )


def _issued_payloads(drafts: list[Draft], template: str) -> Iterator[tuple[str, str]]:
    """(message id, payload) of each of ``drafts``, rendered as they are asked for."""
    for draft, message_id in zip(drafts, _uuid4_texts(len(drafts)), strict=True):
        yield message_id, _issued_payload(draft, template, message_id)


def rows_insert(
    drafts: list[Draft],
    *,
    establishment: str,
    emission_point: str,
    period: tuple[date, date],
    today: date,
    due_date: date,
    now: datetime,
) -> None:
    """Inserts ``drafts`` (numbered) as invoices, their lines and one ``billing.invoice.issued``
    outbox row each, in the caller's transaction; sets each draft's ``pk``."""
    if not drafts:
        return
    occurred_at = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    template = _issued_template(occurred_at=occurred_at, period=period, due_date=due_date)
    messages = _issued_payloads(drafts, template)
    if template not in _TEMPLATES_CHECKED:
        # Every message is built alike: checking one against the schema checks them all, and a
        # run's chunks share the template (a schema check costs ~50 ms: once, not per chunk).
        sample = _issued_payload(drafts[0], template, _uuid4_texts(1)[0])
        check = Envelope.from_json(sample)
        assert check.to_json() == sample.encode("ascii"), (
            "the invoice.issued template drifted from Envelope.to_json"
        )
        assert not COPY_TEXT_SPECIAL.search(template), "the template needs escaping in COPY text"
        if len(_TEMPLATES_CHECKED) > 100:
            _TEMPLATES_CHECKED.clear()
        _TEMPLATES_CHECKED.add(template)
    connection = connections[DB]
    if connection.vendor != "postgresql":
        _insert_orm(drafts, list(messages), establishment, emission_point, period, today, due_date, now)
        return
    created = now.isoformat()
    with connection.cursor() as cursor:
        # The sequence looked up once, not per row (the lookup costs 8 times the nextval).
        cursor.execute(
            "SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) s, "
            "generate_series(1, %s)",
            [Invoice._meta.db_table, len(drafts)],
        )
        for draft, (pk,) in zip(drafts, cursor.fetchall(), strict=True):
            draft.pk = pk
        # What every invoice of the chunk shares, rendered once. The rows are rendered while
        # PostgreSQL parses the ones before (``copy_rows``): Python and the server work at once.
        fixed = f"{establishment},{emission_point}"
        dates = f"{period[0]},{period[1]},{today},{due_date}"
        tail = f"0.00,{InvoiceStatus.ISSUED.value},{created}\n"
        invoices = (
            f"{d.pk},{d.number},{fixed},{d.sequential},{d.client_id},{d.subscription_pk},{dates},"
            f"{csv_text(d.customer_name)},{csv_text(d.customer_identification)},{d.language},USD,"
            f"{d.totals_text()},{tail}"
            for d in drafts
        )
        # COPY's text format, the payload as the bytea escape form of itself: the JSON's ASCII
        # stands for its own bytes, half the size of the hex form (checked by the template).
        outbox_fixed = f"{catalog.BILLING_EVENTS}\t"
        outbox_tail = f"\t{created}\t0\t\n"
        outbox = (
            f"{message_id}\t{outbox_fixed}{d.client_id}\tbilling.invoice.issued\t{payload}{outbox_tail}"
            for d, (message_id, payload) in zip(drafts, messages, strict=True)
        )
        copy_rows(
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
            invoices,
        )
        copy_rows(
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
            _line_rows(drafts),
        )
        copy_rows(
            cursor,
            OutboxMessage._meta.db_table,
            ["message_id", "topic", "key", "message_type", "payload", "created_at", "attempts", "last_error"],
            outbox,
            text_format=True,
        )


def _line_rows(drafts: list[Draft]) -> Iterator[str]:
    for d in drafts:
        pk = d.pk
        for text_line in d.priced.copy_text:
            yield f"{pk},{text_line}\n"
        if d.charges:
            charge_lines = [charge for _pk, charge in d.charges]
            for text_line in lines_copy_text(charge_lines, first=len(d.priced.lines) + 1):
                yield f"{pk},{text_line}\n"


def _insert_orm(
    drafts: list[Draft],
    messages: list[tuple[str, str]],
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
