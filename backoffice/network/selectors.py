"""Reads of the network service; each raises NotFound (404) for what does not exist."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backoffice.access.errors import NotFound
from backoffice.network.models import Diagnosis, Router, Service, ServiceCommand


def router_list(*, active: bool | None = None) -> QuerySet[Router]:
    routers = Router.objects.all()
    if active is not None:
        routers = routers.filter(active=active)
    return routers


def router_get(*, name: str) -> Router:
    """The router called ``name``; raises NotFound."""
    router = Router.objects.filter(name=name).first()
    if router is None:
        raise NotFound(_('There is no router named "%(name)s".') % {"name": name}, code="unknown_router")
    return router


def service_list(
    *,
    client_id: int | None = None,
    router: str | None = None,
    status: str | None = None,
) -> QuerySet[Service]:
    services = Service.objects.select_related("router")
    if client_id is not None:
        services = services.filter(client_id=client_id)
    if router:
        services = services.filter(router__name=router)
    if status:
        services = services.filter(status=status)
    return services.order_by("subscription_id")


def service_get(*, subscription_id: int, client_id: int | None = None) -> Service:
    """The service of ``subscription_id`` (only if it belongs to ``client_id`` when given).

    Raises NotFound, also for another client's service, so its existence does not leak.
    """
    services = Service.objects.select_related("router").filter(subscription_id=subscription_id)
    if client_id is not None:
        services = services.filter(client_id=client_id)
    service = services.first()
    if service is None:
        raise NotFound(
            _("Subscription %(id)s has no internet service.") % {"id": subscription_id},
            code="unknown_service",
        )
    return service


def service_command_list(*, service: Service) -> QuerySet[ServiceCommand]:
    return ServiceCommand.objects.filter(service=service).order_by("-revision", "-id")


def diagnosis_get(*, service: Service, request_id: str) -> Diagnosis:
    """The diagnosis ``request_id`` of ``service``; raises NotFound."""
    diagnosis = Diagnosis.objects.filter(service=service, request_id=request_id).first()
    if diagnosis is None:
        raise NotFound(_("There is no such diagnosis for this service."), code="unknown_diagnosis")
    return diagnosis
