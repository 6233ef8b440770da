from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "enlace_messaging.django"
    label = "messaging"
    verbose_name = "Messaging (outbox and inbox)"
