"""``python -m netagent --config netagent.yaml``: run the netagent until SIGTERM or SIGINT.

On a signal it finishes the command in hand on each router, commits what is done and exits 0.
A bad configuration exits 2 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from netagent.agent import Netagent
from netagent.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netagent", description="Enlace network agent")
    parser.add_argument("--config", required=True, help="YAML or JSON config file")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"netagent: bad configuration: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("netagent").info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent = Netagent(config).start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
