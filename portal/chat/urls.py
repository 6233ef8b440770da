from __future__ import annotations

from django.urls import path

from portal.chat import views

app_name = "chat"

urlpatterns = [
    path("chat/panel/", views.panel, name="panel"),
    path("agent/", views.agent_console, name="agent-console"),
    path("agent/queue/", views.agent_queue, name="agent-queue"),
    path("agent/conversations/<int:conversation_id>/", views.agent_conversation, name="agent-conversation"),
    path("agent/conversations/<int:conversation_id>/context/", views.agent_context, name="agent-context"),
    path("agent/conversations/<int:conversation_id>/take/", views.agent_take_over, name="agent-take-over"),
    path(
        "agent/conversations/<int:conversation_id>/hand-back/", views.agent_hand_back, name="agent-hand-back"
    ),
    path("agent/conversations/<int:conversation_id>/resolve/", views.agent_resolve, name="agent-resolve"),
    path(
        "agent/conversations/<int:conversation_id>/transcript/",
        views.agent_transcript,
        name="agent-transcript",
    ),
]
