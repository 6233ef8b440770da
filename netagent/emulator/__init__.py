"""An emulated MikroTik router that speaks the real RouterOS API over TCP.

Use it for development, demos and tests when no router is reachable::

    from netagent.emulator import RouterEmulator

    with RouterEmulator(identity="r1", username="admin", password="admin") as r:
        pool = routeros_api.RouterOsApiPool(
            "127.0.0.1", username="admin", password="admin", port=r.port, plaintext_login=True
        )
        ...
        r.items("/ppp/secret")  # what the router now holds, as print shows it

Standalone: ``python -m netagent.emulator --port 8728 --identity r1``.

Seed file (JSON, every key optional)::

    {
      "identity": "r1",
      "profiles": [{"name": "10M", "rate-limit": "10M/10M"}],
      "secrets": [{"name": "cpe1", "password": "x", "profile": "10M", "remote-address": "10.0.0.2"}],
      "queues": [{"name": "cpe1", "target": "10.0.0.2", "max-limit": "10M/10M"}],
      "address_list": [{"list": "suspended", "address": "10.0.0.9"}],
      "connect": true
    }

``connect`` is ``true`` (dial in every enabled secret) or a list of secret names.
"""

from netagent.emulator.client import ApiClient
from netagent.emulator.menus import MENUS
from netagent.emulator.ppp import PPPoEError
from netagent.emulator.protocol import decode_length, encode_length, encode_sentence, encode_word
from netagent.emulator.query import Query, QueryError
from netagent.emulator.server import LOGIN_FAILED_MESSAGE, RouterEmulator
from netagent.emulator.state import ApiTrap, CommandResult, RouterState

__all__ = [
    "LOGIN_FAILED_MESSAGE",
    "MENUS",
    "ApiClient",
    "ApiTrap",
    "CommandResult",
    "PPPoEError",
    "Query",
    "QueryError",
    "RouterEmulator",
    "RouterState",
    "decode_length",
    "encode_length",
    "encode_sentence",
    "encode_word",
]
