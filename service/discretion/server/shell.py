"""The process around a server, as one server or a supervisor of workers runs it.

What both do the same way lives here: the process's log lines on standard
error (text or JSON, `logging_to`), signals counted for the main thread to act
on, and the lines that announce where the server listens (tests and scripts
read them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import signal
import sys
import threading
from typing import Any, Iterator, TextIO

from ..events import event
from .config import Ready, ServerSettings

__all__ = ["LOG_FORMATS", "LOG_LEVELS", "Signals", "announce", "counting_signals", "host", "logging_to", "said"]

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")

log = logging.getLogger("discretion.server")


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, process, pid, event, message, fields (and an exception's text).

    A multi-line message stays one line: its line breaks are escaped, so a
    collector never splits one event into several."""

    def __init__(self, process: str):
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
        line: dict[str, Any] = {
            "time": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "process": self.process,
            "pid": record.process,
            "event": getattr(record, "event", "message"),
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line["fields"] = fields
        if record.name != "discretion" and not record.name.startswith("discretion."):
            line["logger"] = record.name  # grpc's and Python's own, routed here in JSON mode
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


@contextlib.contextmanager
def logging_to(stream: TextIO, log_format: str = "text", level: str = "info",
               process: str = "server") -> Iterator[None]:
    """Route the process's logs (reloads, diagnostics, internal errors) to `stream` until the block ends.

    `text`: the package's records as `discretion: …` lines, as always. `json`:
    every record of the process, the package's and its libraries' (grpc's
    Python side, warnings) and any uncaught exception, as one JSON object per
    line, so nothing the process writes to standard error is anything else
    (grpc's C core is silenced by `serve`, which sets GRPC_VERBOSITY before it
    loads grpc). `process` names the writer: `server`, `supervisor`, `worker-N`.
    """
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonLines(process))
        target = logging.getLogger()  # the root: every library's records too
    else:
        handler.setFormatter(logging.Formatter("discretion: %(message)s"))
        target = logging.getLogger("discretion")
    package = logging.getLogger("discretion")
    saved = (target.level, package.level, sys.excepthook, threading.excepthook)
    target.addHandler(handler)
    package.setLevel(level.upper())
    if log_format == "json":
        target.setLevel(logging.WARNING)  # libraries: their warnings and errors
        logging.captureWarnings(True)

        def uncaught(kind, value, traceback) -> None:
            log.critical("uncaught %s: %s", kind.__name__, value, exc_info=(kind, value, traceback),
                         extra=event("uncaught_exception"))

        sys.excepthook = uncaught
        threading.excepthook = lambda hook: uncaught(hook.exc_type, hook.exc_value, hook.exc_traceback) \
            if hook.exc_value is not None else None
    try:
        yield
    finally:
        target.removeHandler(handler)
        target.setLevel(saved[0])
        package.setLevel(saved[1])
        sys.excepthook, threading.excepthook = saved[2], saved[3]
        if log_format == "json":
            logging.captureWarnings(False)


def said(message: str, *args: Any, event_name: str = "lifecycle", level: int = logging.INFO,
         **fields: Any) -> None:
    """A line the process always writes, whatever the log level: where it listens, that it stopped, why it
    could not start. Scripts and probes wait for these; the log level governs the rest."""
    record = log.makeRecord(log.name, level, __file__, 0, message, args, None, extra=event(event_name, **fields))
    log.handle(record)  # past the level check: handlers still see it


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
        said("metrics on %s:%d", host(settings.metrics_address), ready.metrics_port, event_name="listening",
             service="metrics", host=host(settings.metrics_address), port=ready.metrics_port)
    if ready.http_port:
        said("http on %s:%d", host(settings.http_address), ready.http_port, event_name="listening",
             service="http", host=host(settings.http_address), port=ready.http_port)
    if ready.health_port:
        said("health on %s:%d", host(settings.health_address), ready.health_port, event_name="listening",
             service="health", host=host(settings.health_address), port=ready.health_port)
    said("serving on %s:%d" + (f" ({workers} workers)" if workers else ""), host(settings.address), ready.port,
         event_name="listening", service="grpc", host=host(settings.address), port=ready.port, workers=workers or 1)
