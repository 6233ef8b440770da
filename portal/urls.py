"""URLs of the portal (the WebSocket routes are in portal/notifications/routing.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import set_language

from portal import billing_views, support_views, views

portal_patterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("signin/", views.sign_in, name="sign-in"),
    path("signout/", views.sign_out, name="sign-out"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/services/<int:subscription_id>/", views.service_card, name="service-card"),
    path("plan/", views.my_plan, name="my-plan"),
    path("contract/", views.my_contract, name="my-contract"),
    path(
        "contract/<int:subscription_id>/<int:version>/<str:language>.pdf",
        views.contract_pdf,
        name="contract-pdf",
    ),
    path(
        "contract/<int:subscription_id>/<int:version>/accept",
        views.contract_accept,
        name="contract-accept",
    ),
    path("password/forgot/", views.password_forgot, name="password-forgot"),
    path("password/reset/<str:token>/", views.password_reset, name="password-reset"),
    path("password/change/", views.password_change, name="password-change"),
    path("activate/", views.activation, name="activation"),
    path("verify-email/<str:token>/", views.email_verify, name="email-verify"),
    path("support/", support_views.support, name="support"),
    path("billing/", billing_views.billing_home, name="billing"),
    path("billing/invoices/<str:number>/", billing_views.invoice_detail, name="billing-invoice"),
    path("billing/invoices/<str:number>/pdf", billing_views.invoice_pdf, name="billing-invoice-pdf"),
    path("billing/payments/", billing_views.payment_history, name="billing-payments"),
    path("billing/pay/", billing_views.pay, name="billing-pay"),
    path("billing/checkouts/return/", billing_views.checkout_return, name="billing-checkout-return"),
    path("billing/checkouts/<uuid:reference>/", billing_views.checkout_result, name="billing-checkout"),
    # The demo gateway's page (billing's demo gateway sends the browser here).
    path("billing/demo-pay/<str:checkout_id>", billing_views.demo_pay, name="billing-demo-pay"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include((portal_patterns, "portal"), namespace="portal")),
    path("", include("portal.chat.urls", namespace="chat")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
]
