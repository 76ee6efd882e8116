"""The process around a server, as one server or a supervisor of workers runs it.

What both do the same way lives here: the package's log lines on standard
error, signals counted for the main thread to act on, and the lines that
announce where the server listens (tests and scripts read them).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import Iterator, TextIO

from .config import Ready, ServerSettings

__all__ = ["Signals", "announce", "counting_signals", "host", "logging_to"]


@contextlib.contextmanager
def logging_to(stream: TextIO) -> Iterator[None]:
    """Route the package's logs (reloads, diagnostics, internal errors) to `stream`, as `discretion: …` lines."""
    logger = logging.getLogger("discretion")
    level = logger.level
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("discretion: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class Signals:
    """What signals asked for, counted.

    Python runs a handler on the main thread between two bytecodes, possibly
    while that thread holds a lock (waiting on a threading.Event does): a
    handler that took the same lock, as `Event.set()` does, would wait for
    itself for ever. So handlers only count, and the main thread acts.
    """

    def __init__(self) -> None:
        self.stops = 0
        self.hangups = 0


@contextlib.contextmanager
def counting_signals(stop_signals: tuple[int, ...]) -> Iterator[Signals]:
    """Count `stop_signals` (stop gracefully; a second one stops at once) and SIGHUP (reload), until the block ends.

    The previous handlers come back at the end. Signals reach only the main
    thread, so a server embedded in another thread is stopped otherwise (its
    `stop` event) and counts nothing.
    """
    signals = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield signals
        return

    def on_stop(signum: int, frame: object) -> None:
        signals.stops += 1

    def on_hangup(signum: int, frame: object) -> None:
        signals.hangups += 1

    handlers = {**{signum: on_stop for signum in stop_signals}, signal.SIGHUP: on_hangup}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield signals
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def host(address: str | None) -> str:
    """The host of a `host:port` address."""
    return (address or "").rsplit(":", 1)[0]


def announce(settings: ServerSettings, ready: Ready, stderr: TextIO, workers: int = 0) -> None:
    """`discretion: metrics on …`, `health on …` (when served), then `serving on HOST:PORT`: what callers wait for."""
    if ready.metrics_port:
        print(f"discretion: metrics on {host(settings.metrics_address)}:{ready.metrics_port}", file=stderr, flush=True)
    if ready.health_port:
        print(f"discretion: health on {host(settings.health_address)}:{ready.health_port}", file=stderr, flush=True)
    print(f"discretion: serving on {host(settings.address)}:{ready.port}"
          + (f" ({workers} workers)" if workers else ""), file=stderr, flush=True)
