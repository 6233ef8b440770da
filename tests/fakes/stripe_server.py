"""A local HTTP server implementing the Stripe API endpoints billing uses, for the real SDK.

- ``POST /v1/checkout/sessions`` (form-encoded, honours ``Idempotency-Key``)
- ``GET /v1/checkout/sessions/{id}``

The test plays the customer with :meth:`StripeServer.pay` and Stripe's webhook sender with
:meth:`StripeServer.event` + :func:`sign` (HMAC-SHA256 over "{t}.{payload}", as Stripe does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

SECRET_KEY = "sk_test_enlace_local"
WEBHOOK_SECRET = "whsec_enlace_local_test"


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for ``payload``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class StripeServer:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_idempotency: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:12]}")
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
                    self._reply(
                        401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
                    )
                    return False
                return True

            def do_POST(self) -> None:
                server.requests.append(("POST", self.path))
                if not self._authorised():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                if self.path != "/v1/checkout/sessions":
                    self._reply(404, {"error": {"type": "invalid_request_error", "message": "no such route"}})
                    return
                key = self.headers.get("Idempotency-Key")
                with server.lock:
                    if key and key in server.by_idempotency:
                        self._reply(200, server.sessions[server.by_idempotency[key]])
                        return
                    session_id = f"cs_test_{uuid.uuid4().hex}"
                    amount = int(form["line_items[0][price_data][unit_amount]"]) * int(
                        form["line_items[0][quantity]"]
                    )
                    session = {
                        "id": session_id,
                        "object": "checkout.session",
                        "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                        "status": "open",
                        "payment_status": "unpaid",
                        "mode": form["mode"],
                        "amount_total": amount,
                        "currency": form["line_items[0][price_data][currency]"],
                        "client_reference_id": form.get("client_reference_id"),
                        "success_url": form["success_url"],
                        "cancel_url": form["cancel_url"],
                        "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
                        "payment_intent": None,
                    }
                    server.sessions[session_id] = session
                    if key:
                        server.by_idempotency[key] = session_id
                self._reply(200, session)

            def do_GET(self) -> None:
                server.requests.append(("GET", self.path))
                if not self._authorised():
                    return
                prefix = "/v1/checkout/sessions/"
                session = (
                    server.sessions.get(self.path[len(prefix) :].split("?")[0])
                    if self.path.startswith(prefix)
                    else None
                )
                if session is None:
                    self._reply(
                        404,
                        {"error": {"type": "invalid_request_error", "message": "No such checkout.session"}},
                    )
                    return
                self._reply(200, session)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> StripeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def pay(self, session_id: str) -> None:
        """The customer completes the payment page."""
        with self.lock:
            session = self.sessions[session_id]
            session.update(
                status="complete", payment_status="paid", payment_intent=f"pi_{uuid.uuid4().hex[:16]}"
            )

    def expire(self, session_id: str) -> None:
        with self.lock:
            self.sessions[session_id].update(status="expired")

    def event(self, type: str, session_id: str, *, snapshot: dict[str, Any] | None = None) -> bytes:
        """A webhook body for ``type`` carrying the session as it is now (or ``snapshot``)."""
        return json.dumps(
            {
                "id": f"evt_{uuid.uuid4().hex[:20]}",
                "object": "event",
                "api_version": "2025-03-31.basil",
                "created": int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": type,
                "data": {"object": dict(snapshot or self.sessions[session_id])},
            }
        ).encode()
