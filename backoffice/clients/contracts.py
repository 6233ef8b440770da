"""A subscription's contract as PDF: what it shows, and each version rendered and kept.

:func:`contract_render` is what the Celery task calls. A version holds one PDF per language
(Spanish and English), each with its SHA-256 and render time, and is never changed: a new
version is written only when what the contract shows (client, plan, price, term, address,
start date, the ISP's template) differs from the latest version.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from backoffice.clients import pdf
from backoffice.clients.models import ContractDocument, ContractTemplate, Language, Subscription
from backoffice.databases import service_db

logger = logging.getLogger(__name__)

DB = service_db("clients")
LANGUAGES = (Language.ES.value, Language.EN.value)
CENT = Decimal("0.01")

# Used until the ISP saves its own template in the admin.
DEFAULT_TEMPLATE = ContractTemplate(
    isp_name="Enlace Demo ISP",
    isp_ruc="1790011674001",
    isp_address="Av. Amazonas N24-03, Quito, Ecuador",
    clauses_es=(
        "El proveedor presta el servicio de acceso a internet descrito en este contrato.\n\n"
        "El abonado paga la tarifa mensual, más IVA, hasta la fecha de vencimiento de cada factura; "
        "tras el período de gracia el servicio puede suspenderse hasta el pago.\n\n"
        "El abonado puede terminar el contrato en cualquier momento, avisando con 15 días de anticipación."
    ),
    clauses_en=(
        "The provider supplies the internet access service described in this contract.\n\n"
        "The subscriber pays the monthly fee, plus VAT, by each invoice's due date; after the grace "
        "period the service may be suspended until payment.\n\n"
        "The subscriber may end the contract at any time with 15 days' notice."
    ),
)


def active_template() -> ContractTemplate:
    """The ISP's newest active template, or the built-in default."""
    return (
        ContractTemplate.objects.filter(active=True).order_by("-updated_at", "-id").first()
        or DEFAULT_TEMPLATE
    )


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def contract_content(subscription: Subscription, template: ContractTemplate) -> dict[str, Any]:
    """Everything a contract shows, as plain data (also what its content hash is taken of)."""
    client, plan = subscription.client, subscription.plan
    tax = (plan.monthly_price * plan.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "isp": {
            "name": template.isp_name,
            "ruc": template.isp_ruc,
            "address": template.isp_address,
            "logo_url": template.logo_url,
        },
        "clauses": {
            "es": [c.strip() for c in template.clauses_es.split("\n\n") if c.strip()],
            "en": [c.strip() for c in template.clauses_en.split("\n\n") if c.strip()],
        },
        "client": {
            "id": client.pk,
            "kind": client.kind,
            "name": client.name,
            "identification_type": client.identification_type,
            "identification": client.identification,
            "address": client.address,
            "city": client.city,
            "email": client.email,
            "phone": client.phone,
        },
        "subscription": {
            "id": subscription.pk,
            "start_date": subscription.start_date.isoformat(),
            "billing_day": subscription.billing_day,
            "pppoe_username": subscription.pppoe_username,
        },
        "plan": {
            "code": plan.code,
            "name": plan.name,
            "download": plan.download,
            "upload": plan.upload,
            "monthly_price": _money(plan.monthly_price),
            "tax_rate_percent": str((plan.tax_rate * 100).normalize()),
            "tax": _money(tax),
            "total": _money(plan.monthly_price + tax),
            "installation_fee": _money(plan.installation_fee),
            "term_months": plan.term_months,
        },
    }


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def render_pdf(content: dict[str, Any], *, language: str, version: int, rendered_at: datetime) -> bytes:
    """The contract PDF in ``language``; raises pdf.PdfRenderError."""
    html = render_to_string(
        f"clients/contract_{language}.html",
        {
            **content,
            "version": version,
            "rendered_at": rendered_at,
            "lang_clauses": content["clauses"][language],
        },
    )
    return pdf.html_to_pdf(html)


def _latest(subscription_id: int) -> ContractDocument | None:
    return ContractDocument.objects.filter(subscription_id=subscription_id).order_by("-version").first()


def contract_render(*, subscription_id: int, now: datetime) -> int | None:
    """Renders a new contract version of the subscription if what it shows changed since the
    latest version; returns the new version number, or None when nothing changed (or the
    subscription does not exist). Safe to call any number of times, from several workers."""
    for _attempt in range(5):
        outcome = _render_once(subscription_id, now)
        if outcome is not _CHANGED_MEANWHILE:
            return outcome  # type: ignore[return-value]
    raise RuntimeError(f"subscription {subscription_id} kept changing while its contract was rendered")


_CHANGED_MEANWHILE = object()


def _current(subscription_id: int) -> tuple[dict[str, Any], str] | None:
    subscription = Subscription.objects.select_related("client", "plan").filter(pk=subscription_id).first()
    if subscription is None:
        return None
    content = contract_content(subscription, active_template())
    return content, content_hash(content)


def _render_once(subscription_id: int, now: datetime) -> int | object | None:
    current = _current(subscription_id)
    if current is None:
        logger.warning("contract render asked for unknown subscription %s", subscription_id)
        return None
    content, digest = current
    latest = _latest(subscription_id)
    if latest is not None and latest.content_hash == digest:
        return None
    version = (latest.version if latest else 0) + 1
    # Rendered outside the transaction: it takes a while and needs no lock.
    pdfs = {
        language: render_pdf(content, language=language, version=version, rendered_at=now)
        for language in LANGUAGES
    }
    try:
        with transaction.atomic(using=DB):
            # Serialises writers of this subscription's versions; the unique constraint backs it.
            Subscription.objects.select_for_update().filter(pk=subscription_id).first()
            fresh = _current(subscription_id)
            if fresh is None or fresh[1] != digest:
                # The subscription changed while we rendered: render what it shows now.
                return _CHANGED_MEANWHILE
            latest = _latest(subscription_id)
            if latest is not None and latest.content_hash == digest:
                return None  # another worker rendered this very content meanwhile
            if (latest.version if latest else 0) + 1 != version:
                return _CHANGED_MEANWHILE  # the PDFs carry a version number another worker took
            ContractDocument.objects.bulk_create(
                [
                    ContractDocument(
                        subscription_id=subscription_id,
                        version=version,
                        language=language,
                        pdf=data,
                        sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data),
                        content_hash=digest,
                        rendered_at=now,
                    )
                    for language, data in pdfs.items()
                ]
            )
    except IntegrityError:
        return _CHANGED_MEANWHILE
    return version
