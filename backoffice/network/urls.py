"""HTTP API of the network service, mounted at /api/network/v1/ (namespace "network")."""

from django.urls import URLPattern, URLResolver, path

from backoffice.network import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("routers/", api.RouterListCreateApi.as_view(), name="router-list"),
    path("routers/<slug:name>/", api.RouterDetailApi.as_view(), name="router-detail"),
    path("routers/<slug:name>/reconcile", api.RouterReconcileApi.as_view(), name="router-reconcile"),
    path("services/", api.ServiceListCreateApi.as_view(), name="service-list"),
    path("services/<int:subscription_id>/", api.ServiceDetailApi.as_view(), name="service-detail"),
    path("services/<int:subscription_id>/suspend", api.ServiceSuspendApi.as_view(), name="service-suspend"),
    path(
        "services/<int:subscription_id>/reactivate",
        api.ServiceReactivateApi.as_view(),
        name="service-reactivate",
    ),
    path(
        "services/<int:subscription_id>/terminate",
        api.ServiceTerminateApi.as_view(),
        name="service-terminate",
    ),
    path(
        "services/<int:subscription_id>/diagnose", api.ServiceDiagnoseApi.as_view(), name="service-diagnose"
    ),
    path(
        "services/<int:subscription_id>/diagnosis/<uuid:request_id>",
        api.ServiceDiagnosisDetailApi.as_view(),
        name="service-diagnosis",
    ),
    path(
        "services/<int:subscription_id>/commands/",
        api.ServiceCommandListApi.as_view(),
        name="service-commands",
    ),
    path("me/services/", api.MyServiceListApi.as_view(), name="my-service-list"),
    path("me/services/<int:subscription_id>/", api.MyServiceDetailApi.as_view(), name="my-service-detail"),
]
