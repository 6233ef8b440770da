"""The portal's ASGI application: Django over HTTP, notifications (later chat) over WebSocket."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Django must be set up before anything imports models or reads settings.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from portal.notifications.routing import websocket_urlpatterns  # noqa: E402
from portal.notifications.runner import EmbeddedConsumer  # noqa: E402
from portal.notifications.websocket_auth import SessionUserMiddleware  # noqa: E402

http_application: Any = (
    ASGIStaticFilesHandler(django_application) if settings.ENLACE_PORTAL_SERVE_STATIC else django_application
)

router = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(
            SessionMiddlewareStack(SessionUserMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)


class _StartsEmbeddedConsumer:
    """Starts the notification consumer on the first connection, when the server's event loop
    (which the in-memory channel layer belongs to) is known; Daphne has no startup hook."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.consumer = EmbeddedConsumer()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        self.consumer.start(asyncio.get_running_loop())
        return await self.inner(scope, receive, send)


application: Any = _StartsEmbeddedConsumer(router) if settings.ENLACE_PORTAL_EMBEDDED_CONSUMER else router
