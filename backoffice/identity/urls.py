"""HTTP API of the identity service, mounted at /api/identity/v1/."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
