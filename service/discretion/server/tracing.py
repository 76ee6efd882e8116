"""OpenTelemetry: one span per PolicyService call, when the standard `OTEL_*` environment asks for traces.

Off by default, and then nothing of OpenTelemetry is imported: `wanted()`
reads the environment only. Traces are wanted when an OTLP endpoint is set
(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`), as
Cerbos reads it; `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turns
them off whatever else is set. Everything else is the SDK's own reading of the
standard variables: the service's name and resource (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`; "discretion" unless named), the sampler
(`OTEL_TRACES_SAMPLER`, parent-based by default: a platform that samples a
trace gets Discretion's span in it), the batch processor (`OTEL_BSP_*`; at
most 128 spans an export unless set, so an export stays far below a
collector's 4 MiB) and the OTLP/gRPC exporter (`OTEL_EXPORTER_OTLP_*`:
endpoint, headers, certificates, timeout). A setting that cannot be honoured
stops the server before it serves (`check`), never a traceback.

The caller's trace is read from its `traceparent` alone, by the same parser
the decision log's ids come from (`correlation.call_of`): `tracestate` and
`baggage` are the caller's free text, and neither reaches a span or the log.
Only when the operator names other propagators (`OTEL_PROPAGATORS`, e.g. `b3`)
do those read the call's headers (still without `baggage`).

Each call's span is a child of the caller's `traceparent`, named as the RPC
semantic conventions say (`discretion.v1.PolicyService/Check`), and carries
what ties it to the decision log and the rules: the decision ids, the rules'
revision, the agreements that governed, the decisions, actions, obligations,
rules and reason codes. Never a person's id, a group's id or any text: a trace
backend is read by more people than the decision log. Health and reflection
calls have no span (probes would drown the traces).

A process's spans are exported in the background and flushed when it stops
(`Tracing.close`), for at most `_CLOSE_SECONDS` whatever the exporter's
timeout: a collector that does not answer never holds up a stop. Each worker
process has its own exporter.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from typing import Any, Callable, Iterable, Mapping

import grpc

from ..errors import DiscretionError
from .correlation import Call, call_of
from .summary import Summary

__all__ = ["Tracing", "TracingUnavailable", "correlated", "decided", "wanted"]

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
_SAMPLERS = ("always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
             "parentbased_traceidratio")
_COMPRESSIONS = ("gzip", "deflate", "none")
_FILES = ("CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE")
_EXPORT_BATCH = 128  # spans an export carries unless OTEL_BSP_MAX_EXPORT_BATCH_SIZE says
_CLOSE_SECONDS = 5.0
_LISTED = 100  # entries a span's per-decision list keeps (a batch's ids, decisions, actions)
_HEADER_CHARS = 512  # a header longer than this is not read by other propagators

# The span of the call this thread answers, where there is one: what `decided` writes on.
_SPAN: contextvars.ContextVar[Any] = contextvars.ContextVar("discretion_span", default=None)


class TracingUnavailable(DiscretionError):
    """Traces were asked for, but cannot be sent as asked: the server does not start rather than run blind."""


def wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for traces; reads it only."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if "none" in _exporters(environ):
        return False
    return any(environ.get(name, "").strip() for name in _ENDPOINTS)


def check(environ: Mapping[str, str] | None = None) -> None:
    """Raise TracingUnavailable if traces are wanted but could not be sent: said before any worker starts."""
    environ = os.environ if environ is None else environ
    for name in _PROTOCOLS:
        protocol = environ.get(name, "").strip()
        if protocol:
            if protocol != "grpc":
                raise TracingUnavailable(f"{name}=`{protocol}`: traces are sent over OTLP/gRPC only (`grpc`)")
            break
    if _exporters(environ) - {"otlp"}:
        raise TracingUnavailable(f"OTEL_TRACES_EXPORTER=`{environ['OTEL_TRACES_EXPORTER']}`: traces are sent "
                                 "over OTLP only (`otlp`, or `none` for no traces)")
    sampler = environ.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    if sampler and sampler not in _SAMPLERS:
        raise TracingUnavailable(f"OTEL_TRACES_SAMPLER=`{sampler}`: one of {', '.join(_SAMPLERS)}")
    if sampler.endswith("traceidratio") and environ.get("OTEL_TRACES_SAMPLER_ARG", "").strip():
        _number(environ, "OTEL_TRACES_SAMPLER_ARG", 0.0, 1.0)
    for name in ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_BSP_SCHEDULE_DELAY",
                 "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"):
        if environ.get(name, "").strip():
            _number(environ, name, 1.0, None)
    for name in ("OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"):
        compression = environ.get(name, "").strip().lower()
        if compression and compression not in _COMPRESSIONS:
            raise TracingUnavailable(f"{name}=`{compression}`: one of {', '.join(_COMPRESSIONS)}")
    for part in _FILES:
        for name in (f"OTEL_EXPORTER_OTLP_TRACES_{part}", f"OTEL_EXPORTER_OTLP_{part}"):
            path = environ.get(name, "").strip()
            if path and not os.access(path, os.R_OK):
                raise TracingUnavailable(f"{name}=`{path}`: no such file can be read")
    try:
        import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as error:
        raise TracingUnavailable(f"traces are asked for ({_asked_by(environ)}) but OpenTelemetry is not installed "
                                 f"({error.name}): install `discretion[otel]`") from None
    if environ.get("OTEL_PROPAGATORS", "").strip():
        try:  # the SDK loads the named propagators as it is imported, and raises for one it cannot find
            from opentelemetry import propagate  # noqa: F401
        except Exception as error:  # noqa: BLE001 - whatever it raises, the server says it and does not start
            raise TracingUnavailable(f"OTEL_PROPAGATORS=`{environ['OTEL_PROPAGATORS']}`: {error}") from None


def _exporters(environ: Mapping[str, str]) -> set[str]:
    """The exporters OTEL_TRACES_EXPORTER names, in lower case."""
    return {name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")} - {""}


def _number(environ: Mapping[str, str], name: str, least: float, most: float | None) -> None:
    text = environ[name].strip()
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value >= least and (most is None or value <= most)):
        bounds = f"from {least:g} to {most:g}" if most is not None else f"of at least {least:g}"
        raise TracingUnavailable(f"{name}=`{text}`: a number {bounds}")


def _asked_by(environ: Mapping[str, str]) -> str:
    return next(f"{name} is set" for name in _ENDPOINTS if environ.get(name, "").strip())


class Tracing:
    """This process's tracer and exporter, and the interceptor giving each PolicyService call its span."""

    def __init__(self, service: str, version: str):
        check()
        try:
            self._start(version)
        except Exception as error:  # noqa: BLE001 - a setting check() could not foresee: said, not a traceback
            raise TracingUnavailable(f"tracing cannot start: {error}") from None
        self._service = service

    def _start(self, version: str) -> None:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({SERVICE_VERSION: version})
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: "discretion"}))
        # The sampler is the SDK's reading of OTEL_TRACES_SAMPLER (parent-based, always on, by default).
        self._provider = TracerProvider(resource=resource)
        batch = {} if os.environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "").strip() else {
            "max_export_batch_size": _EXPORT_BATCH}
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), **batch))
        self._tracer = self._provider.get_tracer("discretion", version)
        self._parent = _parent_reader()

    def interceptor(self) -> grpc.ServerInterceptor:
        return _Interceptor(self)

    def close(self) -> None:
        """Send what is left and stop the exporter (as a process stops, after its last call), giving up after
        `_CLOSE_SECONDS`: the spans of a collector that does not answer are lost, the stop is not held."""
        closing = threading.Thread(target=self._provider.shutdown, name="tracing-close", daemon=True)
        closing.start()
        closing.join(_CLOSE_SECONDS)

    def _traced(self, method: str, behavior: Callable[[Any, grpc.ServicerContext], Any]):
        from opentelemetry.trace import SpanKind, Status, StatusCode

        name = f"{self._service}/{method}"
        attributes = {"rpc.system": "grpc", "rpc.service": self._service, "rpc.method": method}

        def traced(request: Any, context: grpc.ServicerContext) -> Any:
            parent = self._parent(context.invocation_metadata())
            span = self._tracer.start_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes)
            token = _SPAN.set(span)
            try:
                return behavior(request, context)
            finally:
                _SPAN.reset(token)
                code = context.code()
                code = code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK
                span.set_attribute("rpc.grpc.status_code", code.value[0])
                if code is not grpc.StatusCode.OK:
                    # The code's name only: a status message can quote what the request held.
                    span.set_status(Status(StatusCode.ERROR, code.name))
                span.end()

        return traced


class _Interceptor(grpc.ServerInterceptor):
    def __init__(self, tracing: Tracing):
        self._tracing = tracing
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")
        if handler is None or service != self._tracing._service or handler.unary_unary is None:
            return handler
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = grpc.unary_unary_rpc_method_handler(self._tracing._traced(method, handler.unary_unary),
                                                      request_deserializer=handler.request_deserializer,
                                                      response_serializer=handler.response_serializer)
        self._wrapped[method] = (handler, wrapped)
        return wrapped


def _parent_reader() -> Callable[[Any], Any]:
    """What reads a call's parent context from its metadata: its `traceparent` by our own parser, unless the
    operator named propagators; then theirs, given the call's text headers (without `baggage`), each at most
    `_HEADER_CHARS` long, and with their warnings about malformed headers kept out of the log (the caller's
    text, once per call)."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    if not os.environ.get("OTEL_PROPAGATORS", "").strip():
        def from_traceparent(metadata: Any) -> Any:
            call = call_of(metadata)
            if not call.trace_id:
                return None
            parent = SpanContext(int(call.trace_id, 16), int(call.span_id, 16), is_remote=True,
                                 trace_flags=TraceFlags(TraceFlags.SAMPLED if call.sampled else TraceFlags.DEFAULT))
            return trace.set_span_in_context(NonRecordingSpan(parent))
        return from_traceparent

    from opentelemetry import propagate

    for name in ("opentelemetry.propagators", "opentelemetry.trace", "opentelemetry.baggage"):
        logging.getLogger(name).setLevel(logging.ERROR)
    extract = propagate.get_global_textmap().extract

    def from_headers(metadata: Any) -> Any:
        return extract({key: value for key, value in metadata or ()
                        if isinstance(value, str) and key != "baggage" and len(value) <= _HEADER_CHARS})
    return from_headers


def decided(ids: list[str], summaries: Iterable[Summary], *, batch: bool) -> None:
    """Write a call's decisions on its span, if it has one: a Check's as single values, a batch's as lists in order."""
    span = _SPAN.get()
    if span is None or not span.is_recording():
        return
    summaries = list(summaries)
    agreements: dict[str, None] = {}
    rules: dict[str, None] = {}
    codes: dict[str, None] = {}
    obligations: dict[str, None] = {}
    for summary in summaries:
        agreements.update(dict.fromkeys(summary.agreements))
        rules.update(dict.fromkeys(summary.rules))
        codes.update(dict.fromkeys(summary.reason_codes))
        obligations.update(dict.fromkeys(summary.obligations))
    attributes: dict[str, Any] = {
        "discretion.policy.revision": summaries[0].policy_revision if summaries else "",
        "discretion.agreements": list(agreements),
        "discretion.rules": list(rules),
        "discretion.reason_codes": list(codes),
        "discretion.obligations": list(obligations),
        "discretion.checks": len(summaries),
    }
    if not batch:
        attributes.update({"discretion.decision_id": ids[0], "discretion.decision": summaries[0].decision,
                           "discretion.action": summaries[0].action})
    else:
        # The first _LISTED of a larger batch: a span stays a few kilobytes (each decision's log line carries
        # the span's ids, so every decision is still found from it).
        listed = summaries[:_LISTED]
        attributes.update({"discretion.decision_ids": list(ids[:_LISTED]),
                           "discretion.decisions": [summary.decision for summary in listed],
                           "discretion.actions": [summary.action for summary in listed]})
    span.set_attributes(attributes)


def correlated(call: Call) -> Call:
    """The ids a decision-log line carries: the call's span's when it is recorded (its trace is the caller's
    when the caller sent one), so a log line is found from the span; else what the caller sent."""
    span = _SPAN.get()
    if span is None or not span.is_recording():
        return call
    context = span.get_span_context()
    return call._replace(trace_id=f"{context.trace_id:032x}", span_id=f"{context.span_id:016x}")
