"""Prometheus metrics: what is decided, how fast, which rules are in force, and the gRPC calls.

Every label has a small, known set of values (an action, a decision, an
obligation type from the rules, a gRPC method and code): never a group, a
person or an item, whose ids would make a series per caller.

With several worker processes, prometheus-client's multiprocess mode keeps each
worker's values in files under PROMETHEUS_MULTIPROC_DIR, and the supervisor
serves their aggregate (`multiprocess_registry`): counters and
histograms are summed, the gauges take the largest value among live workers.

The request path touches only pre-bound children (`_Bound`), so recording a
decision is a dictionary lookup and an increment per series.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from typing import Any, Callable, Iterator, TypeVar

import grpc
import prometheus_client as prom
from prometheus_client import multiprocess
from prometheus_client.registry import CollectorRegistry

from .summary import Summary

__all__ = ["CHECK_DURATION_BUCKETS", "GrpcMetrics", "Metrics", "multiprocess_registry", "serve_metrics"]

log = logging.getLogger("discretion.server")

# Deciding takes tens of microseconds and a whole call a few hundred: the
# buckets resolve 50 µs to 1 s, finer where the calls are.
CHECK_DURATION_BUCKETS = (
    50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6,
    1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,
)
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
# The shipped rules load in about 0.1 s, 10,000 rules in about 1 s.
RELOAD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


T = TypeVar("T")


class _Bound:
    """Children of a labelled metric, bound once per label values and reused."""

    def __init__(self, metric: Any):
        self._metric = metric
        self._children: dict[Any, Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._metric.labels(*labels)
        return child


class Metrics:
    """The service's metrics, registered in `registry` (a private one by default).

    In multiprocess mode the registry is only where the objects live; the
    values go to files and the supervisor reads them.
    """

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.decisions = _Bound(prom.Counter(
            "discretion_decisions", "Decisions made, by action and outcome.", ["action", "decision"], registry=r))
        self.check_duration = _Bound(prom.Histogram(
            "discretion_check_duration_seconds",
            "Time from a Check, CheckBatch or GetInteractionPolicy call's arrival to its answer.",
            ["method"], buckets=CHECK_DURATION_BUCKETS, registry=r))
        self.batch_size = prom.Histogram(
            "discretion_check_batch_size", "Checks carried by each CheckBatch call.",
            buckets=BATCH_SIZE_BUCKETS, registry=r)
        self.obligations = _Bound(prom.Counter(
            "discretion_obligations", "Obligations imposed, by type.", ["type"], registry=r))
        self.rule_errors = prom.Counter(
            "discretion_rule_evaluation_errors",
            "Rules that could not be evaluated for an item (each denied the item: fail closed).", registry=r)
        self.reloads = _Bound(prom.Counter(
            "discretion_policy_reloads", "Attempts to load the rules, by result (success or failure).",
            ["result"], registry=r))
        self.last_reload_success = prom.Gauge(
            "discretion_policy_last_reload_success_timestamp_seconds",
            "When the rules in force were loaded (Unix time).", registry=r, multiprocess_mode="livemax")
        self.last_reload_successful = prom.Gauge(
            "discretion_policy_last_reload_successful",
            "1 if the last attempt to load the rules succeeded, 0 if it was refused (the last good rules serve).",
            registry=r, multiprocess_mode="livemin")
        self.reload_duration = prom.Histogram(
            "discretion_policy_reload_duration_seconds",
            "Seconds each attempt to load the rules took, succeeded or not (each worker loads its own).",
            buckets=RELOAD_BUCKETS, registry=r)
        self.policy_info = prom.Gauge(
            "discretion_policy_info", "1 for the revision of the rules in force.", ["revision"],
            registry=r, multiprocess_mode="livemax")
        self.decision_log_dropped = prom.Counter(
            "discretion_decision_log_dropped",
            "Decision log lines dropped because the log's output fell a whole pipe behind.", registry=r)
        self.http_requests = _Bound(prom.Counter(
            "discretion_http_requests", "Calls to the HTTP/JSON and AuthZEN face, by path and HTTP status.",
            ["path", "code"], registry=r))
        self.grpc = GrpcMetrics(r)
        self._revision = ""
        # Counters appear at 0 before their first event, so rate() and alerts
        # see a series from the start.
        for result in ("success", "failure"):
            self.reloads(result)

    def decided(self, summary: Summary) -> None:
        """Count one decision; runs on the request path."""
        self.decisions(summary.action or "unspecified", summary.decision).inc()
        for obligation in summary.obligations:
            self.obligations(obligation).inc()
        if summary.rule_errors:
            self.rule_errors.inc(summary.rule_errors)

    def reloaded(self, ok: bool, revision: str, loaded_at: float | None, took: float | None = None) -> None:
        self.last_reload_successful.set(1 if ok else 0)
        if took is not None:
            self.reload_duration.observe(took)
        self.reloads("success" if ok else "failure").inc()
        if not ok or not revision:
            return
        if loaded_at is not None:
            self.last_reload_success.set(loaded_at)
        if revision != self._revision:
            if self._revision:
                self.policy_info.labels(self._revision).set(0)
                if not _multiprocess():  # a file-backed series cannot be removed; 0 says the same
                    self.policy_info.remove(self._revision)
            self.policy_info.labels(revision).set(1)
            self._revision = revision


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


# ---- gRPC server metrics ------------------------------------------------------------


class GrpcMetrics(grpc.ServerInterceptor):
    """`grpc_server_started_total` and `grpc_server_handled_total` by service, method and code.

    The names and labels are those of the Go gRPC ecosystem's server metrics,
    so existing dashboards and alerts apply. Wrapped handlers are cached per
    method: interceptors run on every call.
    """

    def __init__(self, registry: CollectorRegistry):
        labels = ["grpc_type", "grpc_service", "grpc_method"]
        self._started = _Bound(prom.Counter(
            "grpc_server_started", "RPCs started on the server.", labels, registry=registry))
        self._handled = _Bound(prom.Counter(
            "grpc_server_handled", "RPCs completed on the server, whatever their status.",
            [*labels, "grpc_code"], registry=registry))
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, full_method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        service, _, name = full_method.lstrip("/").rpartition("/")
        if handler.request_streaming and handler.response_streaming:
            kind, behavior, factory = "bidi_stream", handler.stream_stream, grpc.stream_stream_rpc_method_handler
        elif handler.request_streaming:
            kind, behavior, factory = "client_stream", handler.stream_unary, grpc.stream_unary_rpc_method_handler
        elif handler.response_streaming:
            kind, behavior, factory = "server_stream", handler.unary_stream, grpc.unary_stream_rpc_method_handler
        else:
            kind, behavior, factory = "unary", handler.unary_unary, grpc.unary_unary_rpc_method_handler
        started = self._started(kind, service, name)
        handled = lambda code: self._handled(kind, service, name, _CODE_NAMES[code]).inc()  # noqa: E731
        if handler.response_streaming:
            wrapped = _counted_stream(behavior, started, handled)
        else:
            wrapped = _counted_unary(behavior, started, handled)
        return factory(wrapped, request_deserializer=handler.request_deserializer,
                       response_serializer=handler.response_serializer)


# Status codes as the Go ecosystem's metrics spell them (`InvalidArgument`,
# `Canceled`), which dashboards and alerts written for those expect.
_CODE_NAMES = {
    code: "OK" if code is grpc.StatusCode.OK else "Canceled" if code is grpc.StatusCode.CANCELLED
    else code.name.title().replace("_", "")
    for code in grpc.StatusCode
}


def _code(context: grpc.ServicerContext, default: grpc.StatusCode) -> grpc.StatusCode:
    code = context.code()
    return code if isinstance(code, grpc.StatusCode) else default


def _counted_unary(behavior: Callable[..., T], started: Any, handled: Callable[[grpc.StatusCode], None]):
    def counted(request: Any, context: grpc.ServicerContext) -> T:
        started.inc()
        try:
            response = behavior(request, context)
        except BaseException:
            handled(_code(context, grpc.StatusCode.UNKNOWN))
            raise
        handled(_code(context, grpc.StatusCode.OK))
        return response

    return counted


def _counted_stream(behavior: Callable[..., Iterator[T]], started: Any, handled: Callable[[grpc.StatusCode], None]):
    def counted(request: Any, context: grpc.ServicerContext) -> Iterator[T]:
        started.inc()
        try:
            yield from behavior(request, context)
        except GeneratorExit:  # the caller went away
            handled(_code(context, grpc.StatusCode.CANCELLED))
            raise
        except BaseException:
            handled(_code(context, grpc.StatusCode.UNKNOWN))
            raise
        handled(_code(context, grpc.StatusCode.OK))

    return counted


# ---- exposition ---------------------------------------------------------------------


def serve_metrics(address: str, registry: CollectorRegistry):
    """Serve `registry` as `/metrics` over HTTP on `address` (host:port; port 0 picks one).

    Returns the HTTP server (stop it with `shutdown()`) and the port it bound.
    """
    host, _, port = address.rpartition(":")
    httpd, _thread = prom.start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0", registry=registry)
    return httpd, httpd.server_port


def multiprocess_registry(path: str, *extra: Any) -> CollectorRegistry:
    """A registry aggregating the values the worker processes write under `path`, plus `extra` collectors."""
    registry = CollectorRegistry()
    registry.register(_WorkerFiles(path))
    for collector in extra:
        registry.register(collector)
    return registry


class _WorkerFiles:
    """prometheus-client's MultiProcessCollector, read again if a worker's file was caught half-made.

    A worker creating its file (empty for an instant, then sized) while the
    page is read makes the reader fail; a restarted worker does that, so a
    scrape then must not answer 500.
    """

    _ATTEMPTS = 5

    def __init__(self, path: str):
        self._collector = multiprocess.MultiProcessCollector(None, path=path)

    def collect(self):
        for attempt in range(self._ATTEMPTS):
            try:
                return [_served_revisions(family) for family in self._collector.collect()]
            except (struct.error, OSError, ValueError):
                if attempt == self._ATTEMPTS - 1:
                    raise
                time.sleep(0.01)
        return []


def _served_revisions(family):
    """`discretion_policy_info` with only the revisions some worker serves.

    A worker's file cannot drop a series, so a revision it no longer serves
    stays there at 0 (`Metrics.reloaded`); shown, every revision ever loaded
    would be a series until restart. A live worker's revision is 1 in its file,
    and `livemax` keeps it 1: a 0 is a revision nobody serves."""
    if family.name == "discretion_policy_info":
        family.samples = [sample for sample in family.samples if sample.value != 0]
    return family
