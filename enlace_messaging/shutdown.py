"""A clean shutdown on SIGTERM and SIGINT for the long-running consumer and relay processes."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType

logger = logging.getLogger(__name__)


def install_signal_handlers(stop: Callable[[], None]) -> None:
    """Makes SIGTERM and SIGINT call ``stop`` (main thread only), for a clean shutdown."""

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
