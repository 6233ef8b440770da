"""HTTP API of the identity service, mounted at /api/identity/v1/, plus JWKS and OAuth2 at the root."""

from django.urls import URLPattern, URLResolver, include, path

from backoffice.identity import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("token", api.TokenApi.as_view(), name="token"),
    path("token/refresh", api.TokenRefreshApi.as_view(), name="token-refresh"),
    path("logout", api.LogoutApi.as_view(), name="logout"),
    path("me", api.MeApi.as_view(), name="me"),
    path("password/change", api.PasswordChangeApi.as_view(), name="password-change"),
    path("password/reset", api.PasswordResetApi.as_view(), name="password-reset"),
    path("password/reset/confirm", api.PasswordResetConfirmApi.as_view(), name="password-reset-confirm"),
    path("activation-codes", api.ActivationCodeApi.as_view(), name="activation-codes"),
    path("activation", api.ActivationApi.as_view(), name="activation"),
    path("email/verify", api.EmailVerifyApi.as_view(), name="email-verify"),
    path("users", api.UserListApi.as_view(), name="users"),
    path("audit-events", api.AuditEventListApi.as_view(), name="audit-events"),
]

root_urlpatterns: list[URLPattern | URLResolver] = [
    path(".well-known/jwks.json", api.jwks, name="jwks"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
