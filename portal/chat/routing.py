from __future__ import annotations

from django.urls import path

from portal.chat.consumers import AgentChatConsumer, AgentQueueConsumer, SubscriberChatConsumer

websocket_urlpatterns = [
    path("ws/chat/<int:conversation_id>/", SubscriberChatConsumer.as_asgi()),
    path("ws/agent/chat/<int:conversation_id>/", AgentChatConsumer.as_asgi()),
    path("ws/agent/queue/", AgentQueueConsumer.as_asgi()),
]
