"""HTTP API of the billing service, mounted at /api/billing/v1/, one module per resource:

- :mod:`.accounts`, :mod:`.invoices`, :mod:`.payments`, :mod:`.checkouts` (pay links),
  :mod:`.webhooks` and :mod:`.me` (the subscriber's own): the endpoints;
- :mod:`.serializers`: the output serializers;
- :mod:`.common`: roles, permissions, pagination and the parameters they share.

Roles ``billing`` and ``admin`` write (manual payments, credit notes, promises to pay); they,
``agent`` and tokens with ``billing.read`` read every client's account; ``billing.pay_link``
(the chatbot) may create a checkout for a client. A subscriber reaches only their own account
under ``/me/``. Gateways' webhooks arrive unauthenticated at ``/webhooks/<gateway>``: their
signature is what is checked. Each endpoint parses its input, makes one domain call and shapes
the output.

The views are re-exported here for ``urls.py`` (``api.<View>``).
"""

from backoffice.billing.api.accounts import AccountDetailApi, AccountLedgerApi, PromiseToPayApi
from backoffice.billing.api.checkouts import CheckoutCreateApi
from backoffice.billing.api.invoices import (
    CreditNoteCreateApi,
    InvoiceDetailApi,
    InvoiceListApi,
    InvoicePdfApi,
)
from backoffice.billing.api.me import (
    MyAccountApi,
    MyCheckoutCreateApi,
    MyCheckoutDetailApi,
    MyDemoCheckoutCompleteApi,
    MyInvoiceDetailApi,
    MyInvoiceListApi,
    MyInvoicePdfApi,
    MyLedgerApi,
    MyPaymentListApi,
)
from backoffice.billing.api.payments import PaymentListCreateApi
from backoffice.billing.api.webhooks import WebhookApi

__all__ = [
    "AccountDetailApi",
    "AccountLedgerApi",
    "CheckoutCreateApi",
    "CreditNoteCreateApi",
    "InvoiceDetailApi",
    "InvoiceListApi",
    "InvoicePdfApi",
    "MyAccountApi",
    "MyCheckoutCreateApi",
    "MyCheckoutDetailApi",
    "MyDemoCheckoutCompleteApi",
    "MyInvoiceDetailApi",
    "MyInvoiceListApi",
    "MyInvoicePdfApi",
    "MyLedgerApi",
    "MyPaymentListApi",
    "PaymentListCreateApi",
    "PromiseToPayApi",
    "WebhookApi",
]
