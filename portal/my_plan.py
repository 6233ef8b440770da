"""The signed-in subscriber's plan and contracts, read from the clients service."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.http import HttpRequest

from portal import accounts
from portal.clients_client import (
    ClientsUnavailable,
    ContractFile,
    ContractVersion,
    MyAccount,
    MyPlan,
    NotASubscriber,
    clients_client,
)
from portal.identity_client import IdentityUser

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MyPlans:
    """What "Mi plan" shows: the client's active subscriptions (none for staff), or
    ``unavailable`` when the clients service could not say."""

    account: MyAccount | None = None
    unavailable: bool = False

    @property
    def plans(self) -> list[MyPlan]:
        return self.account.plans if self.account else []


@dataclass(frozen=True)
class ContractRow:
    """One version of a contract with its file in each language."""

    version: int
    current: bool
    documents: list[ContractVersion]
    accepted_at: datetime | None
    # The document the subscriber accepts: the one in their language, else the first there is.
    to_accept: ContractVersion


@dataclass(frozen=True)
class SubscriptionContracts:
    plan: MyPlan
    rows: list[ContractRow] = field(default_factory=list)


def my_plans_get(request: HttpRequest, user: IdentityUser) -> MyPlans:
    """The subscriber's plans; empty for staff, ``unavailable`` rather than an error when the
    clients service does not answer. Raises SessionExpired."""
    if user.client_id is None:
        return MyPlans()
    try:
        account = accounts.with_access_token(request, lambda token: clients_client().me(access_token=token))
    except NotASubscriber:
        return MyPlans()
    except ClientsUnavailable as exc:
        logger.warning("clients service unavailable for the plan page: %s", exc)
        return MyPlans(unavailable=True)
    return MyPlans(account=account)


def my_contracts_list(
    request: HttpRequest, plans: list[MyPlan], *, language: str
) -> list[SubscriptionContracts]:
    """Every contract version of each subscription, newest first, grouped by version, each
    offering its document in ``language`` to accept. Raises ClientsUnavailable and SessionExpired."""
    result = []
    for plan in plans:
        versions = accounts.with_access_token(request, functools.partial(_contracts, plan.subscription_id))
        rows: dict[int, list[ContractVersion]] = {}
        for document in versions:
            rows.setdefault(document.version, []).append(document)
        result.append(
            SubscriptionContracts(
                plan=plan,
                rows=[
                    ContractRow(
                        version=version,
                        current=any(d.current for d in documents),
                        documents=sorted(documents, key=lambda d: d.language != "es"),
                        accepted_at=min((d.accepted_at for d in documents if d.accepted_at), default=None),
                        to_accept=next((d for d in documents if d.language == language), documents[0]),
                    )
                    for version, documents in sorted(rows.items(), reverse=True)
                ],
            )
        )
    return result


def _contracts(subscription_id: int, token: str) -> list[ContractVersion]:
    return clients_client().contracts(access_token=token, subscription_id=subscription_id)


def my_contract_pdf(
    request: HttpRequest, *, subscription_id: int, version: int, language: str
) -> ContractFile:
    """The PDF of one of the subscriber's contract versions. Raises NotFound (not theirs, or no
    such version), NotASubscriber, ClientsUnavailable and SessionExpired."""
    return accounts.with_access_token(
        request,
        lambda token: clients_client().contract_pdf(
            access_token=token, subscription_id=subscription_id, version=version, language=language
        ),
    )


def my_contract_accept(
    request: HttpRequest, *, subscription_id: int, version: int, language: str, sha256: str
) -> None:
    """Accepts one of the subscriber's contract versions (the document with ``sha256``), from
    the browser's address. Raises AcceptanceRefused, NotFound, ClientsUnavailable and
    SessionExpired."""
    ip = accounts.client_ip(request)
    accounts.with_access_token(
        request,
        lambda token: clients_client().contract_accept(
            access_token=token,
            subscription_id=subscription_id,
            version=version,
            language=language,
            sha256=sha256,
            client_ip=ip,
        ),
    )
