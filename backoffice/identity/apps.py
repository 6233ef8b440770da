from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "backoffice.identity"
    label = "identity"
    verbose_name = "Identity"
