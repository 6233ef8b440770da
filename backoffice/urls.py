"""URLs of the back-office process: only the services named in ENLACE_SERVICES are served."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, URLPattern, URLResolver, include, path, re_path, resolve
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice import health

# Imported for its side effect: it registers the bearer-token security scheme with
# drf-spectacular before any schema is generated.
from backoffice.access import openapi  # noqa: F401
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


@csrf_exempt  # a POST to an unknown URL is a 404 like any other, not a CSRF failure page
def api_not_found(request: HttpRequest) -> JsonResponse:
    """Any URL under /api/ that no service of this process serves: a JSON 404, as the APIs answer.

    A route of its own rather than ``handler404``, which Django skips for its HTML debug page.
    It also takes the place of APPEND_SLASH's redirect (which would drop a POST body), so the
    message points at the URL with the slash when that one exists.
    """
    detail = _("There is no API endpoint at %(path)s.") % {"path": request.path}
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "api-not-found":
            detail += " " + _("Did you mean %(path)s?") % {"path": request.path + "/"}
    return JsonResponse({"error": "not_found", "detail": detail}, status=404)


urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Before the admin's own routes: its sign-in goes through identity's lockout and audit log.
    path("admin/login/", AdminSignInView.as_view(), name="admin-sign-in"),
    path("admin/", admin.site.urls),
]
for _service in settings.ENLACE_SERVICES:
    urlpatterns += _service_patterns(_service)
# Last, so that it only catches what no service matched.
urlpatterns.append(re_path(r"^api/", api_not_found, name="api-not-found"))
