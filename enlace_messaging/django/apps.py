from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "backoffice.messaging"
    label = "messaging"
    verbose_name = "Messaging (outbox and inbox)"
