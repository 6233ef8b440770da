"""Tables of the billing service (database alias "billing", see backoffice.databases).

Billing keeps its own read model of what it invoices (:class:`BillingAccount`,
:class:`BillingSubscription` and its :class:`PlanSegment` price history), built from the
clients service's events; other services' objects are referred to by id only.

The ledger is the client's documents: invoices (debits), payments and credit notes (credits).
A payment or credit note is *allocated* to invoices (:class:`Allocation`); what is left of it
(``unallocated``) is the client's credit, applied to the next invoice.
"""

from backoffice.billing.models.accounts import BillingAccount, BillingSubscription, PendingCharge, PlanSegment
from backoffice.billing.models.documents import (
    OPEN_STATUSES,
    CreditNote,
    DocumentKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NumberCounter,
)
from backoffice.billing.models.dunning import DunningSettings, Reminder
from backoffice.billing.models.fields import ZERO
from backoffice.billing.models.payments import (
    Allocation,
    Checkout,
    CheckoutStatus,
    GatewayEvent,
    Payment,
    PaymentMethod,
)

__all__ = [
    "OPEN_STATUSES",
    "ZERO",
    "Allocation",
    "BillingAccount",
    "BillingSubscription",
    "Checkout",
    "CheckoutStatus",
    "CreditNote",
    "DocumentKind",
    "DunningSettings",
    "GatewayEvent",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "NumberCounter",
    "Payment",
    "PaymentMethod",
    "PendingCharge",
    "PlanSegment",
    "Reminder",
]
