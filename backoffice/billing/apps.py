from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "backoffice.billing"
    label = "billing"
    verbose_name = "Billing"
