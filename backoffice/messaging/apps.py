from django.apps import AppConfig


class BackofficeMessagingConfig(AppConfig):
    """The back office's consumers registry and its ``consume`` and ``relay`` commands (no models;
    the outbox and inbox tables are the app ``enlace_messaging.django``)."""

    name = "backoffice.messaging"
    label = "backoffice_messaging"
    verbose_name = "Back-office consumers and relay"
