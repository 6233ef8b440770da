"""HTTP API of the clients service, mounted at /api/clients/v1/."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
