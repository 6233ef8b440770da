from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "backoffice.network"
    label = "network"
    verbose_name = "Network"
