"""Dunning: reminders around the due date, then ``billing.account.overdue`` after the grace period.

Run once a day (Celery beat, :mod:`backoffice.billing.tasks`). Each step is set-based and
idempotent: a reminder is recorded once per invoice and offset (unique), an account is marked
overdue once until it is settled, so running the day twice sends nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import translation
from django.utils.translation import gettext as _

from backoffice.billing.invoicing import dunning_settings
from backoffice.billing.ledger import DB, SOURCE, client_balance
from backoffice.billing.models import OPEN_STATUSES, BillingAccount, Invoice, InvoiceStatus, Reminder
from enlace_messaging import catalog
from enlace_messaging.django.outbox import outbox_put_many
from enlace_messaging.envelope import Envelope

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DunningResult:
    marked_overdue_invoices: int
    reminders: int
    overdue_accounts: int


def dunning_run(*, today: date, now: datetime) -> DunningResult:
    """Marks invoices past due, sends the reminders due ``today`` (e-mail and an event for the
    portal) and declares overdue the accounts still owing after the grace period, unless a
    promise to pay covers ``today``."""
    config = dunning_settings()
    with transaction.atomic(using=DB):
        marked = Invoice.objects.filter(
            status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID], due_date__lt=today
        ).update(status=InvoiceStatus.OVERDUE)
        reminders = _reminders_send(offsets=config.reminder_offsets, today=today, now=now)
        overdue = _accounts_overdue(grace_days=config.grace_days, today=today, now=now)
    return DunningResult(marked_overdue_invoices=marked, reminders=reminders, overdue_accounts=overdue)


def _reminders_send(*, offsets: list[int], today: date, now: datetime) -> int:
    sent = 0
    for offset in sorted({int(o) for o in offsets}):
        invoices = list(
            Invoice.objects.filter(status__in=OPEN_STATUSES, due_date=today - timedelta(days=offset))
            .exclude(Exists(Reminder.objects.filter(invoice=OuterRef("pk"), offset_days=offset)))
            .order_by("pk")
        )
        if not invoices:
            continue
        Reminder.objects.bulk_create(
            [Reminder(invoice=invoice, offset_days=offset, sent_at=now) for invoice in invoices]
        )
        outbox_put_many(
            using=DB,
            messages=[
                (
                    catalog.BILLING_EVENTS,
                    str(invoice.client_id),
                    Envelope.new(
                        type="billing.invoice.reminder",
                        data={
                            "client_id": invoice.client_id,
                            "invoice_number": invoice.number,
                            "amount_due": f"{invoice.amount_due:.2f}",
                            "due_date": invoice.due_date.isoformat(),
                            "offset_days": offset,
                        },
                        source=SOURCE,
                        occurred_at=now,
                    ),
                )
                for invoice in invoices
            ],
        )
        accounts = {
            a.client_id: a
            for a in BillingAccount.objects.filter(client_id__in={i.client_id for i in invoices})
        }
        for invoice in invoices:
            account = accounts.get(invoice.client_id)
            if account is not None and account.billing_email:
                # After commit: an e-mail cannot be rolled back with the reminder row.
                transaction.on_commit(partial(_reminder_email, account, invoice, offset), using=DB)
        sent += len(invoices)
    return sent


def _reminder_email(account: BillingAccount, invoice: Invoice, offset: int) -> None:
    with translation.override(account.language):
        if offset < 0:
            when = _("is due on %(date)s") % {"date": f"{invoice.due_date:%d/%m/%Y}"}
        elif offset == 0:
            when = _("is due today")
        else:
            when = _("was due on %(date)s") % {"date": f"{invoice.due_date:%d/%m/%Y}"}
        subject = _("Invoice %(number)s %(when)s") % {"number": invoice.number, "when": when}
        body = _(
            "Hello %(name)s,\n\nInvoice %(number)s for USD %(amount)s %(when)s. "
            "You can pay it in the portal.\n\nThank you."
        ) % {
            "name": account.name,
            "number": invoice.number,
            "amount": f"{invoice.amount_due:.2f}",
            "when": when,
        }
    try:
        send_mail(subject, body, None, [account.billing_email])
    except OSError:
        logger.exception("reminder e-mail for invoice %s to %s failed", invoice.number, account.billing_email)


def _accounts_overdue(*, grace_days: int, today: date, now: datetime) -> int:
    late = Invoice.objects.filter(
        client_id=OuterRef("client_id"),
        status__in=OPEN_STATUSES,
        due_date__lt=today - timedelta(days=grace_days),
    )
    candidates = list(
        BillingAccount.objects.select_for_update()
        .filter(overdue=False)
        .filter(Q(promise_until__isnull=True) | Q(promise_until__lt=today))
        .filter(Exists(late))
        .order_by("client_id")
    )
    overdue: list[tuple[BillingAccount, str]] = []
    for account in candidates:
        balance = client_balance(client_id=account.client_id)
        if balance > 0:  # credit may cover the late invoice
            overdue.append((account, f"{balance:.2f}"))
    if not overdue:
        return 0
    BillingAccount.objects.filter(pk__in=[a.pk for a, _b in overdue]).update(overdue=True, overdue_since=now)
    outbox_put_many(
        using=DB,
        messages=[
            (
                catalog.BILLING_EVENTS,
                str(account.client_id),
                Envelope.new(
                    type="billing.account.overdue",
                    data={"client_id": account.client_id, "balance": balance, "reason": "overdue"},
                    source=SOURCE,
                    occurred_at=now,
                ),
            )
            for account, balance in overdue
        ],
    )
    return len(overdue)
