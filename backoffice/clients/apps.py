from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "backoffice.clients"
    label = "clients"
    verbose_name = "Clients"
