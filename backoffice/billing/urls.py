"""HTTP API of the billing service, mounted at /api/billing/v1/."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
