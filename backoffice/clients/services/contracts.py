"""Writes of the clients service: contract acceptance and the contract template."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from backoffice.access.errors import Conflict
from backoffice.clients.models import (
    ContractAcceptance,
    ContractDocument,
    Subscription,
    SubscriptionStatus,
)
from backoffice.clients.services.common import DB, _render_contracts_on_commit

# --- contracts -----------------------------------------------------------------------------------------


def contract_accept(
    *, document: ContractDocument, user_subject: str, client_id: int, ip: str | None, now: datetime
) -> ContractAcceptance:
    """Records that ``user_subject`` accepted ``document`` (who, when, from where, its hash).

    Only the latest version can be accepted (Conflict otherwise); accepting it again returns
    the first acceptance.
    """
    with transaction.atomic(using=DB):
        latest = (
            ContractDocument.objects.filter(subscription_id=document.subscription_id)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        if latest != document.version:
            raise Conflict(
                _("Version %(version)s is no longer the current contract; accept version %(latest)s.")
                % {"version": document.version, "latest": latest},
                code="not_current",
            )
        existing = ContractAcceptance.objects.filter(document=document, user_subject=user_subject).first()
        if existing is not None:
            return existing
        return ContractAcceptance.objects.create(
            document=document,
            user_subject=user_subject,
            client_id_seen=client_id,
            ip=ip,
            sha256=document.sha256,
            accepted_at=now,
        )


def contract_template_save(*, template: Any, now: datetime) -> Any:
    """Saves the ISP's contract template; every active subscription's contract is rendered
    again (a new version) since the clauses or the ISP's details it shows changed."""
    with transaction.atomic(using=DB):
        template.updated_at = now
        template.save()
        _render_contracts_on_commit(
            list(Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).values_list("pk", flat=True))
        )
    return template
