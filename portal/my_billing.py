"""The signed-in subscriber's billing account, as the dashboard and the billing pages show it."""

from __future__ import annotations

import logging

from django.http import HttpRequest

from portal import accounts
from portal.billing_client import (
    BillingAccount,
    BillingNotFound,
    BillingRefused,
    BillingUnavailable,
    NotASubscriber,
    billing_client,
)
from portal.network_client import SubscriberService

logger = logging.getLogger(__name__)


def my_billing_account(request: HttpRequest) -> tuple[BillingAccount | None, bool]:
    """The subscriber's billing account (None for staff or a client billing does not know yet)
    and whether billing could not be asked. Raises SessionExpired."""
    user = accounts.signed_in_user(request)
    if user is None or user.client_id is None:
        return None, False
    try:
        return accounts.with_access_token(
            request, lambda token: billing_client().my_account(access_token=token)
        ), False
    except (NotASubscriber, BillingNotFound):
        return None, False
    except (BillingUnavailable, BillingRefused) as exc:
        logger.warning("billing unavailable for the subscriber's account: %s", exc)
        return None, True


def overdue_services(services: list[SubscriberService]) -> list[SubscriberService]:
    """The services suspended because the account is overdue."""
    return [s for s in services if s.status == "suspended" and s.suspension_reason == "overdue"]
