"""A local HTTP server implementing the PayPal endpoints billing uses, for the real SDK.

- ``POST /v1/oauth2/token`` (client credentials)
- ``POST /v2/checkout/orders``, ``GET /v2/checkout/orders/{id}``,
  ``POST /v2/checkout/orders/{id}/capture`` (honours ``PayPal-Request-Id``)
- ``POST /v1/notifications/verify-webhook-signature``

Webhooks are signed as PayPal signs them: RSA-SHA256 over
"{transmission_id}|{transmission_time}|{webhook_id}|{crc32(body)}", with this server's key
(PayPal's certificate in real life); the verify endpoint checks exactly that.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLIENT_ID = "paypal-client-local"
CLIENT_SECRET = "paypal-secret-local"
WEBHOOK_ID = "WH-LOCAL-0001"


def _canonical(event: Any) -> bytes:
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


class PayPalServer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_request_id: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.captures = 0
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
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _bearer(self) -> bool:
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if token not in server.tokens:
                    self._reply(
                        401,
                        {
                            "error": "invalid_token",
                            "error_description": "Token signature verification failed",
                        },
                    )
                    return False
                return True

            def do_POST(self) -> None:
                path = self.path.split("?")[0]
                if path == "/v1/oauth2/token":
                    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                    form = dict(parse_qsl(self._body().decode()))
                    if (
                        self.headers.get("Authorization") != f"Basic {expected}"
                        or form.get("grant_type") != "client_credentials"
                    ):
                        self._reply(401, {"error": "invalid_client"})
                        return
                    token = uuid.uuid4().hex
                    server.tokens.add(token)
                    self._reply(
                        200, {"access_token": token, "token_type": "Bearer", "expires_in": 32400, "scope": ""}
                    )
                    return
                if not self._bearer():
                    return
                body = json.loads(self._body() or b"{}")
                request_id = self.headers.get("PayPal-Request-Id")
                with server.lock:
                    if request_id and request_id in server.by_request_id:
                        self._reply(200, server.by_request_id[request_id])
                        return
                    if path == "/v2/checkout/orders":
                        status, answer = 201, server._order_create(body)
                    elif path.startswith("/v2/checkout/orders/") and path.endswith("/capture"):
                        status, answer = server._capture(path.split("/")[4])
                    elif path == "/v1/notifications/verify-webhook-signature":
                        status, answer = 200, {"verification_status": server._verify(body)}
                    else:
                        status, answer = 404, {"name": "RESOURCE_NOT_FOUND"}
                    if request_id and status < 300:
                        server.by_request_id[request_id] = answer
                self._reply(status, answer)

            def do_GET(self) -> None:
                if not self._bearer():
                    return
                order = server.orders.get(self.path.split("?")[0].rsplit("/", 1)[-1])
                if order is None:
                    self._reply(404, {"name": "RESOURCE_NOT_FOUND", "message": "order not found"})
                    return
                self._reply(200, order)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> PayPalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- the API --------------------------------------------------------------------------------
    def _order_create(self, body: dict[str, Any]) -> dict[str, Any]:
        order_id = uuid.uuid4().hex[:17].upper()
        order = {
            "id": order_id,
            "intent": body["intent"],
            "status": "PAYER_ACTION_REQUIRED",
            "purchase_units": [{"reference_id": "default", **unit} for unit in body["purchase_units"]],
            "links": [
                {"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"},
                {
                    "href": f"https://www.sandbox.paypal.test/checkoutnow?token={order_id}",
                    "rel": "payer-action",
                    "method": "GET",
                },
            ],
        }
        self.orders[order_id] = order
        return order

    def _capture(self, order_id: str) -> tuple[int, dict[str, Any]]:
        order = self.orders.get(order_id)
        if order is None:
            return 404, {"name": "RESOURCE_NOT_FOUND"}
        if order["status"] != "APPROVED":
            return 422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "ORDER_NOT_APPROVED"}]}
        self.captures += 1
        unit = order["purchase_units"][0]
        unit["payments"] = {
            "captures": [
                {"id": uuid.uuid4().hex[:17].upper(), "status": self.capture_status, "amount": unit["amount"]}
            ]
        }
        order["status"] = "COMPLETED" if self.capture_status == "COMPLETED" else "APPROVED"
        return 201, order

    capture_status = "COMPLETED"

    def _verify(self, body: dict[str, Any]) -> str:
        message = "|".join(
            [
                body["transmission_id"],
                body["transmission_time"],
                body["webhook_id"],
                str(zlib.crc32(_canonical(body["webhook_event"]))),
            ]
        ).encode()
        try:
            self.key.public_key().verify(
                base64.b64decode(body["transmission_sig"]), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return "FAILURE"
        return "SUCCESS"

    # --- the test plays the payer and PayPal's webhook sender ----------------------------------------
    def approve(self, order_id: str) -> None:
        with self.lock:
            self.orders[order_id]["status"] = "APPROVED"

    def event(self, event_type: str, order_id: str) -> bytes:
        return _canonical(
            {
                "id": f"WH-{uuid.uuid4().hex[:20].upper()}",
                "event_type": event_type,
                "resource_type": "checkout-order",
                "resource": {"id": order_id, "status": self.orders[order_id]["status"]},
                "create_time": datetime.now(UTC).isoformat(),
            }
        )

    def signed_headers(
        self, body: bytes, *, webhook_id: str = WEBHOOK_ID, age: timedelta = timedelta(0)
    ) -> dict[str, str]:
        transmission_id = str(uuid.uuid4())
        sent = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
        message = f"{transmission_id}|{sent}|{webhook_id}|{zlib.crc32(_canonical(json.loads(body)))}".encode()
        signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": sent,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": f"{self.url}/v1/notifications/certs/CERT-LOCAL",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }
