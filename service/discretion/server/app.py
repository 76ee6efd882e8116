"""Building the gRPC server and running it until a signal says stop.

`create_server()` wires the services and binds, and nothing else, so tests can
start a real server on port 0 and call it through a real channel. `serve()` is
the process around it: the first load of the rules, watching them, health
flipped on lifecycle events, signals, and a graceful stop.

Lifecycle as health reports it (for "" and `discretion.v1.PolicyService`):
NOT_SERVING until the rules first compile, SERVING from then on (a later broken
change keeps the last good rules serving), and NOT_SERVING again from the moment
a stop is asked for, while the calls in flight finish.
"""

from __future__ import annotations

import logging
import pathlib
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Callable, TextIO

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..errors import DiscretionError
from ..store import PolicyHolder, PolicyStatus
from ._gen.discretion.v1 import policy_pb2, policy_pb2_grpc
from .servicer import PolicyServicer

__all__ = ["CannotListen", "ServerSettings", "create_server", "serve"]

POLICY_SERVICE = policy_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name
# The names health answers for: "" is the server as a whole.
HEALTH_NAMES = ("", POLICY_SERVICE)

log = logging.getLogger("discretion.server")

_SIGNAL_POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class ServerSettings:
    rules_dir: pathlib.Path | str = "rules"
    address: str = "127.0.0.1:50051"  # host:port; port 0 picks a free one
    max_batch: int = 100  # checks per CheckBatch call
    max_workers: int = 8  # threads deciding calls
    grace: float = 10.0  # seconds in-flight calls get to finish on stop
    watch_interval: float = 1.0  # seconds between looks at the rules directory
    max_message_bytes: int = 4 * 1024 * 1024
    # gRPC shares a port between processes by default; a second server started
    # by mistake would then take half the traffic unnoticed. Opt in to run
    # several processes on one port deliberately.
    reuse_port: bool = False


class CannotListen(DiscretionError):
    """The address could not be bound."""


def create_server(
    settings: ServerSettings,
    holder: PolicyHolder,
    *,
    health_servicer: health.HealthServicer | None = None,
) -> tuple[grpc.Server, int]:
    """A bound, not yet started server and the port it bound.

    Health starts as the holder stands (SERVING only with rules loaded); pass
    `health_servicer` to keep flipping it on later events, as `serve()` does.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="discretion-rpc"),
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            ("grpc.so_reuseport", int(settings.reuse_port)),
        ],
    )
    policy_pb2_grpc.add_PolicyServiceServicer_to_server(PolicyServicer(holder, settings), server)
    health_servicer = health_servicer or health.HealthServicer()
    set_health(health_servicer, serving=holder.current is not None)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((POLICY_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    return server, _bind(server, settings.address)


def set_health(health_servicer: health.HealthServicer, *, serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in HEALTH_NAMES:
        health_servicer.set(name, status)


def _bind(server: grpc.Server, address: str) -> int:
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as error:  # grpc reports a failed bind this way
        raise CannotListen(f"cannot listen on `{address}`: {error}") from error
    if not port:  # older grpc releases report it as port 0
        raise CannotListen(f"cannot listen on `{address}`")
    return port


def _host(address: str) -> str:
    return address.rsplit(":", 1)[0]


# ---- the process --------------------------------------------------------------


def serve(settings: ServerSettings, *, stderr: TextIO | None = None, stop: threading.Event | None = None) -> int:
    """Serve until SIGTERM or SIGINT (or `stop` is set); 0 after a graceful stop.

    Prints `discretion: serving on HOST:PORT` once the port is bound and the first
    load of the rules was tried, even if it failed: the server then answers
    UNAVAILABLE, reports NOT_SERVING, and keeps watching for a fix.
    """
    stderr = stderr or sys.stderr
    logger = logging.getLogger("discretion")
    level = logger.level
    handler = _log_to(stderr, logger)
    try:
        return _run(settings, stderr, stop or threading.Event())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _run(settings: ServerSettings, stderr: TextIO, stop: threading.Event) -> int:
    health_servicer = health.HealthServicer()

    def on_reload(ok: bool, status: PolicyStatus) -> None:
        # A failed reload after a good one keeps the last good rules serving.
        set_health(health_servicer, serving=bool(status.revision))

    holder = PolicyHolder(settings.rules_dir, on_reload=on_reload)
    try:
        server, port = create_server(settings, holder, health_servicer=health_servicer)
    except CannotListen as error:
        print(f"discretion: {error}", file=stderr, flush=True)
        return 2
    restore_signals = _handle_signals(stop, server, holder)
    try:
        server.start()
        if not holder.reload():
            log.error("no rules loaded: answering UNAVAILABLE until the rules in %s compile", settings.rules_dir)
        holder.start_watching(settings.watch_interval)
        print(f"discretion: serving on {_host(settings.address)}:{port}", file=stderr, flush=True)
        _wait_for(stop)
        log.info("stopping: letting calls in flight finish (up to %ss)", settings.grace)
        health_servicer.enter_graceful_shutdown()  # load balancers stop sending first
        _wait_for(server.stop(settings.grace))  # a second signal may cut the grace short
    finally:
        holder.stop_watching()
        server.stop(0)  # a no-op after the graceful stop; frees the port if we got here by an error
        restore_signals()
    print("discretion: stopped", file=stderr, flush=True)
    return 0


def _wait_for(event: threading.Event) -> None:
    # Python runs signal handlers on the main thread, between bytecodes. The
    # kernel may deliver the signal to any of grpc's threads, which leaves a
    # main thread blocked in an untimed wait asleep for good; waking it a few
    # times a second lets a pending SIGTERM or SIGHUP handler run.
    while not event.wait(_SIGNAL_POLL_SECONDS):
        pass


def _handle_signals(stop: threading.Event, server: grpc.Server, holder: PolicyHolder) -> Callable[[], None]:
    """SIGTERM/SIGINT stop gracefully (a second one stops at once); SIGHUP reloads the rules.

    Returns a function restoring the previous handlers. Signals reach only the
    main thread, so a server embedded in another thread is stopped with `stop`.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_stop(signum: int, frame: object) -> None:
        if stop.is_set():
            server.stop(0)  # asked twice: stop waiting for calls in flight
        stop.set()

    def on_hangup(signum: int, frame: object) -> None:
        # Off the main thread: a reload may wait for the watcher's, and the
        # main thread must stay free to handle a stop meanwhile.
        threading.Thread(target=holder.reload, name="rules-reload", daemon=True).start()

    handlers = {signal.SIGTERM: on_stop, signal.SIGINT: on_stop, signal.SIGHUP: on_hangup}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _log_to(stream: TextIO, logger: logging.Logger) -> logging.Handler:
    """Route the package's logs (reloads, diagnostics, internal errors) to `stream`."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("discretion: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
