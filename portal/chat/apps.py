from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "portal.chat"
    label = "chat"
    verbose_name = "Support chat"
    default_auto_field = "django.db.models.BigAutoField"
