"""Building the gRPC server and running it until a signal says stop.

`create_server()` wires the services and binds, and nothing else, so tests can
start a real server on port 0 and call it through a real channel. `serve()` is
the process around it: the first load of the rules, watching them, health
flipped on lifecycle events, signals, and a graceful stop.

Lifecycle as health reports it (for "" and `discretion.v1.PolicyService`, the
readiness names): NOT_SERVING until the rules first compile, SERVING from then on
(a later broken change keeps the last good rules serving), and NOT_SERVING again
from the moment a stop is asked for, while the calls in flight finish. The name
`liveness` is SERVING while the process answers at all, rules or not, so a
liveness probe does not restart a server that waits for a fix of its rules.

Around the gRPC server, `serve()` runs the metrics page, the decision log
(flushed on stop, after the calls in flight finished), and, when the decision
port speaks TLS, a plaintext port answering health only, for probes.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from concurrent import futures
from typing import Callable, TextIO

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..errors import DiscretionError
from ..store import PolicyHolder, PolicyStatus
from .decision_log import DecisionLog, LogRelay
from .metrics import Metrics, serve_metrics
from ..engine import identify
from .auth import TenantsFile
from .config import Ready, ServerSettings
from .servicer import SERVICE as POLICY_SERVICE, PolicyServicer, add_to_server
from ..events import event
from .shell import Signals, announce, counting_signals, logging_to, said
from .tls import TlsUnreadable, server_credentials
from .tracing import Tracing, TracingUnavailable
from .. import __version__

__all__ = ["CannotListen", "create_server", "serve"]

# The names health answers for: "" is the server as a whole.
HEALTH_NAMES = ("", POLICY_SERVICE)
LIVENESS = "liveness"

log = logging.getLogger("discretion.server")

_SIGNAL_POLL_SECONDS = 0.2
_RELAY_TIMEOUT = 10.0  # seconds a stopping server gives the decision log's relay to copy the last lines


class CannotListen(DiscretionError):
    """The address could not be bound."""


def create_server(
    settings: ServerSettings,
    holder: PolicyHolder,
    *,
    health_servicer: health.HealthServicer | None = None,
    metrics: Metrics | None = None,
    decision_log: DecisionLog | None = None,
    tracing: Tracing | None = None,
    reports: bool = True,
    servicer: PolicyServicer | None = None,
) -> tuple[grpc.Server, int]:
    """A bound, not yet started server and the port it bound.

    Health starts as the holder stands (SERVING only with rules loaded); pass
    `health_servicer` to keep flipping it on later events, as `serve()` does.
    Without `metrics`, the server counts into a private registry nobody reads;
    with `tracing`, each PolicyService call has a span. `reports` False says a renewed certificate at
    debug level (a server's other workers, whose worker 0 says it).
    """
    metrics = metrics or Metrics()
    identify.set_cache_budget(settings.matcher_cache_bytes)
    if settings.engine == "native":
        _native_budgets(settings.matcher_cache_bytes, settings.roster_cache_bytes)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="discretion-rpc"),
        # Tracing outermost: the span covers what the metrics time, and sees the status they count.
        interceptors=[*([tracing.interceptor()] if tracing else []), metrics.grpc],
        options=_options(settings),
    )
    servicer = servicer or PolicyServicer(holder, settings, metrics=metrics, decision_log=decision_log)
    add_to_server(servicer, server)
    health_servicer = health_servicer or health.HealthServicer()
    set_health(health_servicer, serving=holder.current is not None)
    health_servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((POLICY_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    credentials = server_credentials(settings.tls, reports=reports) if settings.tls else None
    return server, _bind(server, settings.address, credentials)


def _native_budgets(matchers: int, rosters: int) -> None:
    """The native engine's kept name matchers and rosters get the same budgets as the reference's."""
    try:
        import discretion_native
    except ImportError:  # the holder says so and the reference decides
        return
    discretion_native.set_matcher_cache_bytes(matchers)
    discretion_native.set_roster_cache_bytes(rosters)


def create_health_server(settings: ServerSettings, health_servicer: health.HealthServicer) -> tuple[grpc.Server, int]:
    """A plaintext server answering grpc.health.v1 only, on `settings.health_address`.

    Kubernetes' gRPC probes cannot speak TLS; this lets them reach the health
    the decision port reports without opening decisions to plaintext.
    """
    assert settings.health_address
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="discretion-health"),
                         options=_options(settings))
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    return server, _bind(server, settings.health_address, None)


def _options(settings: ServerSettings) -> list[tuple[str, int]]:
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", int(settings.reuse_port)),
        ("grpc.keepalive_time_ms", round(settings.keepalive_time * 1000)),
        ("grpc.keepalive_timeout_ms", round(settings.keepalive_timeout * 1000)),
        # Clients may ping too (the Python client does, every 60 s while a call is open): from every 10 s on,
        # a ping is no abuse, and an idle connection may be pinged.
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    if settings.max_connection_age is not None:
        options += [("grpc.max_connection_age_ms", round(settings.max_connection_age * 1000)),
                    ("grpc.max_connection_age_grace_ms", round(settings.max_connection_age_grace * 1000))]
    return options


def set_health(health_servicer: health.HealthServicer, *, serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in HEALTH_NAMES:
        health_servicer.set(name, status)


def _bind(server: grpc.Server, address: str, credentials: grpc.ServerCredentials | None) -> int:
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError as error:  # grpc reports a failed bind this way
        raise CannotListen(f"cannot listen on `{address}`: {error}") from error
    if not port:  # older grpc releases report it as port 0
        raise CannotListen(f"cannot listen on `{address}`")
    return port


# ---- the process --------------------------------------------------------------


def serve(
    settings: ServerSettings,
    *,
    stderr: TextIO | None = None,
    stop: threading.Event | None = None,
    on_ready: Callable[[Ready], None] | None = None,
    stop_signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT),
    decision_log_pipe: int | None = None,
    process: str = "server",
    reports: bool = True,
) -> int:
    """Serve until a stop signal (or `stop` is set); 0 after a graceful stop, 2 if it cannot start.

    Once the ports are bound and the first load of the rules was tried, even if
    it failed, prints `discretion: metrics on HOST:PORT` (when served) then
    `discretion: serving on HOST:PORT`, or hands the ports to `on_ready`
    instead (a worker process tells its supervisor). Without rules the server
    answers UNAVAILABLE, reports NOT_SERVING, and keeps watching for a fix.

    With `settings.decision_log`, decisions are logged through a relay thread
    of this process; a worker passes `decision_log_pipe` instead, the write
    end of a pipe its supervisor relays.

    `process` names this process in its log lines (`worker-N` for a worker);
    `reports` False leaves what every worker of a supervisor would say alike
    (rules loaded or not, stopping) to the one worker that reports it, at
    debug level here: one event, one line.
    """
    stderr = stderr or sys.stderr
    with logging_to(stderr, settings.log_format, settings.log_level, process), contextlib.ExitStack() as cleanup:
        return _run(settings, stderr, stop or threading.Event(), cleanup, on_ready, stop_signals, decision_log_pipe,
                    reports)


def _run(
    settings: ServerSettings,
    stderr: TextIO,
    stop: threading.Event,
    cleanup: contextlib.ExitStack,
    on_ready: Callable[[Ready], None] | None,
    stop_signals: tuple[int, ...],
    decision_log_pipe: int | None,
    reports: bool,
) -> int:
    health_servicer = health.HealthServicer()
    metrics = Metrics()
    # Unwound in reverse: the log is flushed after the server stopped, the
    # metrics page goes last.
    metrics_port = _start_metrics(settings, metrics, cleanup)

    def on_reload(ok: bool, status: PolicyStatus) -> None:
        # A failed reload after a good one keeps the last good rules serving.
        set_health(health_servicer, serving=bool(status.revision))
        metrics.reloaded(ok, status.revision, status.loaded_at, status.took)

    holder = PolicyHolder(settings.rules_dir, on_reload=on_reload, turns=settings.reload_turns,
                          native=settings.engine == "native", reports=reports)
    if settings.tenants is not None:
        # A supervisor reads the file too (for workers it restarts) and says what it read: its workers,
        # reading the same, say it at debug level.
        settings.tenants.reports = on_ready is None
        # A worker restarted later gets the tenants its supervisor last read:
        # the file may have changed since, and nobody is served before this.
        settings.tenants.refresh()
    try:
        tracing = _start_tracing(settings, cleanup)
        on_hangup: list[Callable[[], None]] = []  # besides reloading the rules and the tenants
        decision_log = _open_decision_log(settings, decision_log_pipe, metrics, cleanup, on_hangup)
        servicer = PolicyServicer(holder, settings, metrics=metrics, decision_log=decision_log)
        server, port = create_server(settings, holder, health_servicer=health_servicer, metrics=metrics,
                                     decision_log=decision_log, tracing=tracing, reports=reports, servicer=servicer)
        http_server = _start_http(settings, servicer, metrics, cleanup)
        http_port = http_server.server_address[1] if http_server else 0
        health_port = 0
        if settings.health_address:
            health_server, health_port = create_health_server(settings, health_servicer)
            health_server.start()
            cleanup.callback(health_server.stop, 0)
    except (CannotListen, TlsUnreadable, TracingUnavailable, OSError) as error:
        said("%s", error, event_name="cannot_start", level=logging.ERROR, error=str(error))
        return 2
    with counting_signals(stop_signals) as signals:  # the previous handlers are back before the log is flushed
        try:
            server.start()
            if not holder.reload():
                log.log(logging.ERROR if reports else logging.DEBUG,
                        "no rules loaded: answering UNAVAILABLE until the rules in %s compile", settings.rules_dir,
                        extra=event("no_rules", rules=str(settings.rules_dir)))
            holder.start_watching(settings.watch_interval)
            ready = Ready(port, metrics_port, health_port, http_port)
            if on_ready:
                on_ready(ready)
            else:
                announce(settings, ready, stderr)
            counted = _serve_until_stopped(stop, signals, holder, settings.tenants, settings.watch_interval,
                                           on_hangup)
            log.log(logging.INFO if reports else logging.DEBUG, "stopping: letting calls in flight finish (up to %ss)",
                    settings.grace, extra=event("stopping", grace_seconds=settings.grace))
            health_servicer.enter_graceful_shutdown()  # load balancers stop sending first
            drained = time.monotonic() + settings.grace
            if http_server is not None:
                threading.Thread(target=http_server.drain, args=(settings.grace,), daemon=True).start()
            _drain(server, settings.grace, signals, counted)
            if http_server is not None:
                http_server.drain(max(0.0, drained - time.monotonic()))
        finally:
            holder.stop_watching()
            server.stop(0)  # a no-op after the graceful stop; frees the port if we got here by an error
    cleanup.close()  # the decision log's pipe is closed and its relay copies the rest before this returns
    if on_ready is None:  # a worker's supervisor says it once for all
        said("stopped", event_name="stopped")
    return 0


def _start_metrics(settings: ServerSettings, metrics: Metrics, cleanup: contextlib.ExitStack) -> int:
    """Serve the metrics page if asked to; its port, 0 if none.

    A metrics port that cannot be bound is logged and skipped: decisions
    matter more than their counts, and a scrape that fails is itself alerted on.
    """
    if not settings.metrics_address:
        return 0
    try:
        httpd, port = serve_metrics(settings.metrics_address, metrics.registry)
    except OSError as error:
        log.error("cannot serve metrics on %s (%s): serving decisions without metrics",
                  settings.metrics_address, error,
                  extra=event("metrics_unavailable", address=settings.metrics_address, error=str(error)))
        return 0
    cleanup.callback(httpd.server_close)
    cleanup.callback(httpd.shutdown)
    return port


def _start_http(settings: ServerSettings, servicer: PolicyServicer, metrics: Metrics,
                cleanup: contextlib.ExitStack):
    """Serve the HTTP/JSON and AuthZEN face if asked to; the server, None if none. Closed before the log is."""
    if not settings.http_address:
        return None
    from .authzen import authzen_routes
    from .http import create_http_server, policy_routes, serve_in_background

    try:
        routes = {**policy_routes(servicer, settings.max_message_bytes),
                  **authzen_routes(servicer, settings.max_message_bytes)}
        server, _ = create_http_server(settings, routes,
                                          lambda path, code: metrics.http_requests(path, str(code)).inc())
    except OSError as error:
        raise CannotListen(f"cannot listen on `{settings.http_address}`: {error}") from error
    serve_in_background(server)
    cleanup.callback(server.server_close)
    cleanup.callback(server.drain, 0)  # drained at the stop already (`_drain`); a start that failed lands here
    return server


def _start_tracing(settings: ServerSettings, cleanup: contextlib.ExitStack) -> Tracing | None:
    """This process's tracer when traces are wanted; its last spans are sent once the server stopped."""
    if not settings.tracing:
        return None
    tracing = Tracing(POLICY_SERVICE, __version__)
    cleanup.callback(tracing.close)
    return tracing


def _open_decision_log(settings: ServerSettings, pipe: int | None, metrics: Metrics,
                       cleanup: contextlib.ExitStack, on_hangup: list[Callable[[], None]]) -> DecisionLog | None:
    if pipe is None:
        if not settings.decision_log:
            return None
        relay = LogRelay(settings.decision_log)
        # Unwound after the log below closed its end: reads the pipe to it.
        cleanup.callback(relay.close, _RELAY_TIMEOUT)
        on_hangup.append(relay.reopen)  # after logrotate moved the file
        pipe = relay.pipe()
    decision_log = DecisionLog(pipe, on_drop=metrics.decision_log_dropped.inc, id_key=settings.decision_log_id_key)
    cleanup.callback(decision_log.close)
    return decision_log


def _serve_until_stopped(stop: threading.Event, signals: Signals, holder: PolicyHolder,
                         tenants: TenantsFile | None, watch_interval: float,
                         on_hangup: list[Callable[[], None]]) -> int:
    """Wait for a stop (the event or a signal), reloading the rules on each SIGHUP meanwhile
    (and doing `on_hangup`), and the tenants file when it changed (looked at every
    `watch_interval` and on SIGHUP).

    Returns the stop signals this stop used: 0 if the event stopped it, else 1.
    Short waits: the kernel may deliver a signal to any of grpc's threads, and
    the main thread runs its handler only when it wakes.
    """
    hangups = 0
    looked = time.monotonic()
    while True:
        if stop.is_set():
            return 0
        if signals.stops:
            return 1
        stop.wait(_SIGNAL_POLL_SECONDS)
        hangup = signals.hangups > hangups
        if hangup:
            hangups = signals.hangups
            # Off the main thread: a reload may wait for the watcher's, and
            # the main thread must stay free to see a stop meanwhile.
            threading.Thread(target=holder.reload, name="rules-reload", daemon=True).start()
            for action in on_hangup:
                action()
        if tenants is not None and (hangup or time.monotonic() - looked >= watch_interval):
            looked = time.monotonic()
            tenants.refresh()  # a stat, and a small file read only when it changed


def _drain(server: grpc.Server, grace: float, signals: Signals, counted: int) -> None:
    """Stop taking calls and give those in flight `grace` seconds; a stop signal past the
    `counted` ones cuts it short."""
    stopped = server.stop(grace)
    asked = counted
    while not stopped.wait(_SIGNAL_POLL_SECONDS):
        if signals.stops > asked:
            server.stop(0)
            asked = signals.stops
