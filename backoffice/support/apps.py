from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "backoffice.support"
    label = "support"
    verbose_name = "Support"
