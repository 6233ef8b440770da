"""HTTP API of the billing service, mounted at /api/billing/v1/ (namespace "billing")."""

from django.urls import URLPattern, URLResolver, path

from backoffice.billing import api, pages

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/<int:client_id>/", api.AccountDetailApi.as_view(), name="account-detail"),
    path("accounts/<int:client_id>/ledger/", api.AccountLedgerApi.as_view(), name="account-ledger"),
    path("accounts/<int:client_id>/promise", api.PromiseToPayApi.as_view(), name="account-promise"),
    path("invoices/", api.InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<str:number>/", api.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<str:number>/pdf", api.InvoicePdfApi.as_view(), name="invoice-pdf"),
    path(
        "invoices/<str:number>/credit-notes/", api.CreditNoteCreateApi.as_view(), name="invoice-credit-notes"
    ),
    path("payments/", api.PaymentListCreateApi.as_view(), name="payment-list"),
    path("checkouts/", api.CheckoutCreateApi.as_view(), name="checkout-create"),
    path("webhooks/<slug:gateway>", api.WebhookApi.as_view(), name="webhook"),
    path("me/account/", api.MyAccountApi.as_view(), name="my-account"),
    path("me/ledger/", api.MyLedgerApi.as_view(), name="my-ledger"),
    path("me/invoices/", api.MyInvoiceListApi.as_view(), name="my-invoice-list"),
    path("me/invoices/<str:number>/", api.MyInvoiceDetailApi.as_view(), name="my-invoice-detail"),
    path("me/invoices/<str:number>/pdf", api.MyInvoicePdfApi.as_view(), name="my-invoice-pdf"),
    path("me/payments/", api.MyPaymentListApi.as_view(), name="my-payment-list"),
    path("me/checkouts/", api.MyCheckoutCreateApi.as_view(), name="my-checkout-create"),
    path("me/checkouts/<uuid:reference>/", api.MyCheckoutDetailApi.as_view(), name="my-checkout-detail"),
    path(
        "me/checkouts/<uuid:reference>/demo-complete",
        api.MyDemoCheckoutCompleteApi.as_view(),
        name="my-checkout-demo-complete",
    ),
]

# Pages outside the API prefix (mounted at the root by backoffice/urls.py).
root_urlpatterns: list[URLPattern | URLResolver] = [
    path("billing/dashboard/", pages.dashboard, name="billing-dashboard"),
]
