"""Enlace's messaging contract, free of Django: the envelope, the catalogue of topics and
schemas, the errors, and the Kafka publisher and consumer runner.

The back office, the portal and the on-premise netagent all speak through it; the Django parts
(outbox and inbox tables, the relay) are the app :mod:`enlace_messaging.django`.
"""
