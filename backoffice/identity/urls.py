"""Identity's HTTP API (mounted at /api/identity/v1/); JWKS, OAuth2 and the sign-in pages at the root."""

from django.contrib.auth.views import LogoutView
from django.urls import URLPattern, URLResolver, include, path
from oauth2_provider import views as oauth_views

from backoffice.identity import api, pages

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

oauth_urlpatterns: list[URLPattern | URLResolver] = [
    path("authorize/", pages.language_from_query(pages.ConsentView.as_view()), name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
]

root_urlpatterns: list[URLPattern | URLResolver] = [
    path(".well-known/jwks.json", api.jwks, name="jwks"),
    path("accounts/signin/", pages.language_from_query(pages.SignInView.as_view()), name="identity-signin"),
    path("accounts/signout/", LogoutView.as_view(), name="identity-signout"),
    # Only the OAuth2 endpoints Enlace uses. DOT's application registration and authorized-token
    # views (and OIDC, device, dynamic registration) are not mounted: apps are registered in the
    # admin, by admins. Services verify JWTs themselves, so there is no introspection endpoint.
    path("o/", include((oauth_urlpatterns, "oauth2_provider"))),
]
