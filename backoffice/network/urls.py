"""HTTP API of the network service, mounted at /api/network/v1/."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
