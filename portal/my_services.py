"""The signed-in subscriber's internet services, as the dashboard shows them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.http import HttpRequest

from portal import accounts
from portal.identity_client import IdentityUser
from portal.network_client import (
    NetworkUnavailable,
    NotASubscriber,
    ServiceNotFound,
    SubscriberService,
    network_client,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MyServices:
    """The services to show; ``unavailable`` when the network service could not say."""

    services: list[SubscriberService] = field(default_factory=list)
    unavailable: bool = False


def my_services_list(request: HttpRequest, user: IdentityUser) -> MyServices:
    """The live services of ``user``'s client: none for staff (no client), and ``unavailable``
    rather than an error when the network service does not answer. Raises SessionExpired."""
    if user.client_id is None:
        return MyServices()
    try:
        services = accounts.with_access_token(
            request, lambda token: network_client().my_services(access_token=token)
        )
    except NotASubscriber:
        return MyServices()
    except NetworkUnavailable as exc:
        logger.warning("network service unavailable for the dashboard: %s", exc)
        return MyServices(unavailable=True)
    return MyServices(services=services)


def my_service_get(request: HttpRequest, *, subscription_id: int) -> SubscriberService | None:
    """The signed-in subscriber's service ``subscription_id``, or None when it is not theirs or
    the network service does not answer. Raises SessionExpired."""
    try:
        return accounts.with_access_token(
            request,
            lambda token: network_client().my_service(access_token=token, subscription_id=subscription_id),
        )
    except (NotASubscriber, ServiceNotFound):
        return None
    except NetworkUnavailable as exc:
        logger.warning("network service unavailable for service %s: %s", subscription_id, exc)
        return None
