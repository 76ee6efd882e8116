"""OpenTelemetry: one span per PolicyService call, when the standard `OTEL_*` environment asks for traces.

Off by default, and then nothing of OpenTelemetry is imported: `wanted()`
reads the environment only. Traces are wanted when an OTLP endpoint is set
(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`), as
Cerbos reads it; `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turns
them off whatever else is set. Everything else is the SDK's own reading of the
standard variables: the service's name and resource (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`; "discretion" unless named), the sampler
(`OTEL_TRACES_SAMPLER`, parent-based by default: a platform that samples a
trace gets Discretion's span in it), the propagators (`OTEL_PROPAGATORS`, W3C
trace context by default), the batch processor (`OTEL_BSP_*`) and the OTLP/gRPC
exporter (`OTEL_EXPORTER_OTLP_*`: endpoint, headers, certificates, timeout).

Each call's span is a child of the caller's `traceparent`, named as the RPC
semantic conventions say (`discretion.v1.PolicyService/Check`), and carries
what ties it to the decision log and the rules: the decision ids, the rules'
revision, the agreements that governed, the decisions, actions, obligations,
rules and reason codes. Never a person's id, a group's id or any text: a trace
backend is read by more people than the decision log. Health and reflection
calls have no span (probes would drown the traces).

A process's spans are exported in the background and flushed when it stops
(`Tracing.close`); each worker process has its own exporter.
"""

from __future__ import annotations

import contextvars
import os
from typing import Any, Callable, Iterable, Mapping

import grpc

from ..errors import DiscretionError
from .correlation import Call
from .summary import Summary

__all__ = ["Tracing", "TracingUnavailable", "correlated", "decided", "wanted"]

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")

# The span of the call this thread answers, where there is one: what `decided` writes on.
_SPAN: contextvars.ContextVar[Any] = contextvars.ContextVar("discretion_span", default=None)


class TracingUnavailable(DiscretionError):
    """Traces were asked for, but cannot be sent as asked: the server does not start rather than run blind."""


def wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for traces; reads it only."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")}
    if "none" in exporters:
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
    exporters = {name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")} - {""}
    if exporters - {"otlp"}:
        raise TracingUnavailable(f"OTEL_TRACES_EXPORTER=`{environ['OTEL_TRACES_EXPORTER']}`: traces are sent "
                                 "over OTLP only (`otlp`, or `none` for no traces)")
    try:
        import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as error:
        raise TracingUnavailable(f"traces are asked for ({_asked_by(environ)}) but OpenTelemetry is not installed "
                                 f"({error.name}): install `discretion[otel]`") from None


def _asked_by(environ: Mapping[str, str]) -> str:
    return next(f"{name} is set" for name in _ENDPOINTS if environ.get(name, "").strip())


class Tracing:
    """This process's tracer and exporter, and the interceptor giving each PolicyService call its span."""

    def __init__(self, service: str, version: str):
        check()
        from opentelemetry import propagate, trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({SERVICE_VERSION: version})
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: "discretion"}))
        # The sampler is the SDK's reading of OTEL_TRACES_SAMPLER (parent-based, always on, by default).
        self._provider = TracerProvider(resource=resource)
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self._tracer = self._provider.get_tracer("discretion", version)
        self._extract = propagate.get_global_textmap().extract  # OTEL_PROPAGATORS; W3C trace context by default
        self._trace = trace
        self._service = service

    def interceptor(self) -> grpc.ServerInterceptor:
        return _Interceptor(self)

    def close(self) -> None:
        """Send what is left and stop the exporter (as a process stops, after its last call)."""
        self._provider.shutdown()

    def _traced(self, method: str, behavior: Callable[[Any, grpc.ServicerContext], Any]):
        from opentelemetry.trace import SpanKind, Status, StatusCode

        name = f"{self._service}/{method}"
        attributes = {"rpc.system": "grpc", "rpc.service": self._service, "rpc.method": method}

        def traced(request: Any, context: grpc.ServicerContext) -> Any:
            parent = self._extract(_carrier(context.invocation_metadata()))
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


def _carrier(metadata: Iterable[tuple[str, str | bytes]] | None) -> dict[str, str]:
    """The call's text metadata as a propagator reads headers (keys already lower case)."""
    return {key: value for key, value in metadata or () if isinstance(value, str)}


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
        attributes.update({"discretion.decision_ids": list(ids),
                           "discretion.decisions": [summary.decision for summary in summaries],
                           "discretion.actions": [summary.action for summary in summaries]})
    span.set_attributes(attributes)


def correlated(call: Call) -> Call:
    """The ids a decision-log line carries: the call's span's when it is recorded (its trace is the caller's
    when the caller sent one), so a log line is found from the span; else what the caller sent."""
    span = _SPAN.get()
    if span is None or not span.is_recording():
        return call
    context = span.get_span_context()
    return call._replace(trace_id=f"{context.trace_id:032x}", span_id=f"{context.span_id:016x}")
