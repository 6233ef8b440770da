"""HTTP API of the support service, mounted at /api/support/v1/."""

from django.urls import URLPattern, URLResolver, path

from backoffice.support import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("tickets", api.TicketListApi.as_view(), name="tickets"),
    path("tickets/<int:ticket_id>", api.TicketDetailApi.as_view(), name="ticket-detail"),
    path("tickets/<int:ticket_id>/comments", api.TicketCommentListApi.as_view(), name="ticket-comments"),
]
