from __future__ import annotations

from django.urls import path

from portal.chat.routing import websocket_urlpatterns as chat_urlpatterns
from portal.notifications.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    *chat_urlpatterns,
]
