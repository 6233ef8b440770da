"""HTTP API of the support service, mounted at /api/support/v1/."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
