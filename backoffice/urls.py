"""URLs of the back-office process: only the services named in ENLACE_SERVICES are served."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice import health
from backoffice.identity.pages import AdminSignInView


class _ServiceUrlconf:
    """A urlconf holding one service's routes, so its OpenAPI schema lists only them."""

    def __init__(self, patterns: list[URLPattern | URLResolver]) -> None:
        self.urlpatterns = patterns


def _service_patterns(service: str) -> list[URLPattern | URLResolver]:
    module = import_module(f"backoffice.{service}.urls")
    patterns: list[URLPattern | URLResolver] = [
        path(f"api/{service}/v1/", include((module.urlpatterns, service), namespace=service))
    ]
    schema_conf = _ServiceUrlconf(list(patterns))
    patterns += [
        path(
            f"api/{service}/v1/schema/",
            SpectacularAPIView.as_view(
                urlconf=schema_conf, custom_settings={"TITLE": f"Enlace {service} API"}
            ),
            name=f"{service}-schema",
        ),
        path(
            f"api/{service}/v1/docs/",
            SpectacularSwaggerView.as_view(url_name=f"{service}-schema"),
            name=f"{service}-docs",
        ),
    ]
    patterns += list(getattr(module, "root_urlpatterns", []))
    return patterns


urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Before the admin's own routes: its sign-in goes through identity's lockout and audit log.
    path("admin/login/", AdminSignInView.as_view(), name="admin-sign-in"),
    path("admin/", admin.site.urls),
]
for _service in settings.ENLACE_SERVICES:
    urlpatterns += _service_patterns(_service)
