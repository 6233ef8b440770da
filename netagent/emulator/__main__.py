"""``python -m netagent.emulator``: run an emulated RouterOS API endpoint until interrupted."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from netagent.emulator.server import RouterEmulator


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m netagent.emulator",
        description="Serve an emulated MikroTik router over the RouterOS API (plain TCP).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8728, help="TCP port (default 8728; 0 = any free port)")
    parser.add_argument("--identity", default="MikroTik", help="/system/identity name")
    parser.add_argument("--user", default="admin", help="API user name (default admin)")
    parser.add_argument("--password", default="", help="API password (default empty)")
    parser.add_argument("--seed-file", type=Path, help="JSON file with profiles/secrets/queues/address_list")
    parser.add_argument(
        "--empty-replies", action="store_true", help="answer empty prints with !empty (RouterOS 7.18+)"
    )
    parser.add_argument("--version-string", default="7.16 (stable)", help="version shown by /system/resource")
    parser.add_argument(
        "--redial-after", type=float, default=None, help="seconds after a kick before a CPE dials again"
    )
    parser.add_argument("--auto-dial", action="store_true", help="enabled secrets dial in when added/enabled")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every session event")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start the emulator, print where it listens, and serve until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    seed = json.loads(args.seed_file.read_text()) if args.seed_file else None
    emulator = RouterEmulator(
        identity=args.identity,
        username=args.user,
        password=args.password,
        host=args.host,
        port=args.port,
        empty_replies=args.empty_replies,
        version=args.version_string,
        seed=seed,
        redial_after=args.redial_after,
        auto_dial=args.auto_dial,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with emulator:
        # Tests and scripts wait for this line to know the port is open.
        identity = emulator.state.identity
        print(f"RouterOS API emulator '{identity}' listening on {args.host}:{emulator.port}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
