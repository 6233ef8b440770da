"""HTTP API of the clients service, mounted at /api/clients/v1/ (namespace "clients")."""

from django.urls import URLPattern, URLResolver, path

from backoffice.clients import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("clients/", api.ClientListCreateApi.as_view(), name="client-list"),
    path("clients/<int:client_id>/", api.ClientDetailApi.as_view(), name="client-detail"),
    path("plans/", api.PlanListCreateApi.as_view(), name="plan-list"),
    path("plans/<slug:code>/", api.PlanDetailApi.as_view(), name="plan-detail"),
    path("subscriptions/", api.SubscriptionListCreateApi.as_view(), name="subscription-list"),
    path(
        "subscriptions/<int:subscription_id>/",
        api.SubscriptionDetailApi.as_view(),
        name="subscription-detail",
    ),
    path(
        "subscriptions/<int:subscription_id>/change-plan",
        api.SubscriptionChangePlanApi.as_view(),
        name="subscription-change-plan",
    ),
    path(
        "subscriptions/<int:subscription_id>/move",
        api.SubscriptionMoveApi.as_view(),
        name="subscription-move",
    ),
    path(
        "subscriptions/<int:subscription_id>/cancel",
        api.SubscriptionCancelApi.as_view(),
        name="subscription-cancel",
    ),
    path(
        "subscriptions/<int:subscription_id>/contracts/",
        api.ContractListApi.as_view(),
        name="contract-list",
    ),
    path(
        "subscriptions/<int:subscription_id>/contracts/<int:version>/<str:language>.pdf",
        api.ContractPdfApi.as_view(),
        name="contract-pdf",
    ),
    path(
        "subscriptions/<int:subscription_id>/contracts/<int:version>/accept",
        api.ContractAcceptApi.as_view(),
        name="contract-accept",
    ),
    path("me/", api.MeApi.as_view(), name="me"),
]
