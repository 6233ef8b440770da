"""Invoice PDFs (WeasyPrint) in the client's language, and the e-mail that carries them."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from backoffice.billing.models import BillingAccount, Invoice

logger = logging.getLogger(__name__)


def invoice_pdf(*, invoice: Invoice, language: str | None = None) -> bytes:
    """The invoice as a PDF, in ``language`` (default: the one it was issued in; es or en)."""
    from weasyprint import HTML  # imported here: loading it costs ~0.5 s, only PDF paths need it

    language = language if language in ("es", "en") else invoice.language
    with translation.override(language):
        html = render_to_string(
            "billing/invoice.html",
            {
                "invoice": invoice,
                # As the SRI prints amounts (a dot, two decimals), whatever the language.
                "money": {
                    name: f"{getattr(invoice, name):.2f}"
                    for name in ("subtotal", "tax", "total", "amount_paid", "amount_due")
                },
                "language": language,
                "status": invoice.get_status_display(),
                "issuer": getattr(settings, "ENLACE_BILLING_ISSUER", "Enlace"),
                "lines": [
                    {
                        "description": line.description,
                        "days": line.days,
                        "period_days": line.period_days,
                        "subtotal": f"{line.subtotal:.2f}",
                        "tax": f"{line.tax:.2f}",
                        "tax_percent": f"{line.tax_rate * 100:.0f}",
                        "total": f"{line.total:.2f}",
                    }
                    for line in invoice.lines.all()
                ],
            },
        )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def invoices_email_pending(*, now: datetime, limit: int = 200) -> int:
    """E-mails up to ``limit`` invoices not e-mailed yet, oldest first; returns how many were
    handled. Each is marked in its own transaction after its e-mail left, so a failure resends
    only that one on the next call."""
    handled = 0
    for invoice_id in (
        Invoice.objects.filter(emailed_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit]
    ):
        invoice_email_send(invoice_id=invoice_id)
        Invoice.objects.filter(pk=invoice_id).update(emailed_at=now)
        handled += 1
    return handled


def invoice_email_send(*, invoice_id: int) -> bool:
    """E-mails the invoice's PDF to the client's billing address; False when there is none."""
    invoice = Invoice.objects.get(pk=invoice_id)
    account = BillingAccount.objects.filter(client_id=invoice.client_id).first()
    if account is None or not account.billing_email:
        logger.info("invoice %s: client %s has no billing e-mail", invoice.number, invoice.client_id)
        return False
    with translation.override(account.language):
        subject = _("Your invoice %(number)s") % {"number": invoice.number}
        body = _("Hello %(name)s,\n\nAttached is invoice %(number)s for USD %(total)s, due on %(due)s.") % {
            "name": account.name,
            "number": invoice.number,
            "total": f"{invoice.total:.2f}",
            "due": f"{invoice.due_date:%d/%m/%Y}",
        }
    message = EmailMessage(subject, body, to=[account.billing_email])
    message.attach(
        f"{invoice.number}.pdf", invoice_pdf(invoice=invoice, language=account.language), "application/pdf"
    )
    message.send()
    return True
