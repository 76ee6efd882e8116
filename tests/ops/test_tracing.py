"""Tracing: a real `discretion serve` sends one span per call to a real OTLP/gRPC receiver the test runs.

The receiver is a gRPC server answering opentelemetry-proto's TraceService, as
a collector does. The platform is this test process: its own OpenTelemetry
tracer makes the span the Python client's call carries as `traceparent`, so a
decision is followed from the platform's trace id to Discretion's span and to
the decision-log line.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent import futures

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.trace import TracerProvider

import discretion_client as dc
from discretion.server import tracing
from discretion.server.correlation import TRAILER
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server.support import check

from .conftest import RULES, chatham_quote, eventually, log_lines

ENGINES = ["native", "reference"]


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace receiver: keeps every span it is sent, with its resource's attributes."""

    def __init__(self):
        self.spans: list[tuple[dict, trace_pb2.Span]] = []
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def Export(self, request, context):
        with self._lock:
            for resource_spans in request.resource_spans:
                resource = _attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend((resource, span) for span in scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()

    def named(self, name: str) -> list[trace_pb2.Span]:
        with self._lock:
            return [span for _, span in self.spans if span.name == name]

    @property
    def environment(self) -> dict[str, str]:
        """What tells a server to send its spans here, and soon (the batch's delay is 5 s by default)."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}", "OTEL_BSP_SCHEDULE_DELAY": "50"}


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.server.stop(0)


def _value(value):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(element) for element in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attributes(attributes) -> dict:
    return {attribute.key: _value(attribute.value) for attribute in attributes}


def _platform():
    """The calling platform's tracer: its own SDK, as a platform's service runs one."""
    return TracerProvider().get_tracer("platform")


CHECK, BATCH = "discretion.v1.PolicyService/Check", "discretion.v1.PolicyService/CheckBatch"
# What the request says about people and what they said: none of it may reach a trace.
PERSONAL = ("u-chen", "Li Chen", "Northwind", "u-ana", "Ana Lopez", "Contoso", "g-roundtable", "rates will rise")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_decision_is_followed_from_the_platforms_trace_to_its_span_and_log_line(start_ops, receiver, tmp_path,
                                                                                   engine):
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log), "--engine", engine, env=receiver.environment)
    with _platform().start_as_current_span("share-button") as platform, dc.Client(server.target) as client:
        decision = client.check(chatham_quote(), request_id="req-7f3a")
    trace_id = f"{platform.get_span_context().trace_id:032x}"
    parent = platform.get_span_context().span_id

    eventually(lambda: receiver.named(CHECK), message=f"no span received: {server.log()}")
    [span] = receiver.named(CHECK)
    assert span.trace_id.hex() == trace_id and int.from_bytes(span.parent_span_id, "big") == parent
    assert span.kind == trace_pb2.Span.SPAN_KIND_SERVER
    attributes = _attributes(span.attributes)
    revision = server.status().policy_revision
    assert revision == decision.policy_revision
    assert attributes == {
        "rpc.system": "grpc", "rpc.service": "discretion.v1.PolicyService", "rpc.method": "Check",
        "rpc.grpc.status_code": 0,
        "discretion.decision_id": decision.decision_id, "discretion.decision": "allow_with_obligations",
        "discretion.action": "quote", "discretion.policy.revision": revision,
        "discretion.agreements": list(decision.items[0].governed_by),
        "discretion.rules": attributes["discretion.rules"], "discretion.reason_codes": attributes["discretion.reason_codes"],
        "discretion.obligations": [obligation.type for obligation in decision.obligations],
        "discretion.checks": 1,
    }
    assert "chatham-house@1/speaker-not-named" in attributes["discretion.rules"]
    assert "speaker_identity_protected" in attributes["discretion.reason_codes"]
    assert not any(word in str(attributes) for word in PERSONAL), attributes
    resource = next(resource for resource, received in receiver.spans if received is span)
    assert resource["service.name"] == "discretion" and resource["service.version"]

    # The log line: found by the platform's trace id, naming Discretion's span and the decision.
    eventually(lambda: len(log_lines(log)) == 1)
    [line] = log_lines(log)
    assert (line["trace_id"], line["span_id"], line["decision_id"], line["request_id"]) == (
        trace_id, span.span_id.hex(), decision.decision_id, "req-7f3a")


def test_a_batch_is_one_span_listing_its_decisions_in_order(start_ops, receiver):
    server = start_ops(RULES, env=receiver.environment)
    asked = [chatham_quote(), chatham_quote(attribution=dc.Attribution()), chatham_quote(action="share")]
    with _platform().start_as_current_span("export-job"), dc.Client(server.target) as client:
        decisions = client.check_batch(asked)
    eventually(lambda: receiver.named(BATCH))
    [span] = receiver.named(BATCH)
    attributes = _attributes(span.attributes)
    assert attributes["discretion.decision_ids"] == [decision.decision_id for decision in decisions]
    assert attributes["discretion.decisions"] == [decision.decision for decision in decisions]
    assert attributes["discretion.actions"] == ["quote", "quote", "share"]
    assert attributes["discretion.checks"] == 3
    assert "discretion.decision_id" not in attributes
    assert not any(word in str(attributes) for word in PERSONAL), attributes


def test_a_refused_call_is_an_error_span_with_its_code_only_and_probes_have_none(start_ops, receiver):
    server = start_ops(RULES, env=receiver.environment)
    with grpc.insecure_channel(server.target) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        refused = pb.CheckRequest(action=pb.ACTION_QUOTE, quoted_text="Li Chen said so")  # no group, no items
        with pytest.raises(grpc.RpcError) as error:
            stub.Check(refused, timeout=10)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(3):
            health.Check(health_pb2.HealthCheckRequest(), timeout=10)
    server.stop()  # a stopping server sends what it holds: nothing more can come
    [span] = [span for _, span in receiver.spans]
    assert span.name == CHECK
    assert span.status.code == trace_pb2.Status.STATUS_CODE_ERROR and span.status.message == "INVALID_ARGUMENT"
    attributes = _attributes(span.attributes)
    assert attributes["rpc.grpc.status_code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert not [key for key in attributes if key.startswith("discretion.")]
    assert "Li Chen" not in str(span)


@pytest.mark.parametrize("off", [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_EXPORTER": "none"},
                                 {"OTEL_TRACES_SAMPLER": "always_off"}])
def test_no_span_is_sent_when_the_environment_says_so(start_ops, receiver, tmp_path, off):
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log), workers=1, env={**receiver.environment, **off})
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with dc.Client(server.target, metadata={"traceparent": traceparent}) as client:
        client.check(chatham_quote())
    assert server.stop() == 0
    assert receiver.spans == []
    # Not recorded: the line keeps the caller's ids.
    [line] = log_lines(log)
    assert (line["trace_id"], line["span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")


@pytest.mark.parametrize(("environment", "said"), [
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "OTEL_EXPORTER_OTLP_PROTOCOL=`http/protobuf`"),
    ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER=`zipkin`"),
    ({"OTEL_PROPAGATORS": "b3"}, "OTEL_PROPAGATORS=`b3`"),  # not installed
    ({"OTEL_EXPORTER_OTLP_TIMEOUT": "abc"}, "OTEL_EXPORTER_OTLP_TIMEOUT=`abc`: a number"),
    ({"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "OTEL_EXPORTER_OTLP_COMPRESSION=`zstd`"),
    ({"OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent/ca.pem"}, "no such file can be read"),
    ({"OTEL_TRACES_SAMPLER": "bogus"}, "OTEL_TRACES_SAMPLER=`bogus`"),
    ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, "OTEL_TRACES_SAMPLER_ARG=`2`"),
])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_traces_asked_for_in_a_way_they_cannot_be_sent_stop_the_server_from_starting(environment, said, workers):
    done = subprocess.run([sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--address",
                           "127.0.0.1:0", "--workers", workers, "--metrics-address", "off"], capture_output=True,
                          text=True, timeout=60,
                          env={**_environ(), "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", **environment})
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr


def test_the_callers_tracestate_and_baggage_reach_neither_a_span_nor_the_log(start_ops, receiver):
    server = start_ops(RULES, "--log-format", "json", env=receiver.environment)
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    baggage = ",".join(f"u-chen{n} Li Chen" for n in range(170))  # not even well formed: each entry a warning
    metadata = (("traceparent", traceparent), ("tracestate", "person=u-chen"), ("baggage", baggage))
    with grpc.insecure_channel(server.target) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        for _ in range(3):
            stub.ListAgreements(pb.ListAgreementsRequest(), timeout=10, metadata=metadata)
    assert server.stop() == 0
    spans = [span for _, span in receiver.spans]
    assert len(spans) == 3 and {span.trace_state for span in spans} == {""}
    assert {span.parent_span_id.hex() for span in spans} == {"00f067aa0ba902b7"}
    assert "u-chen" not in server.log() and "Li Chen" not in server.log()


def test_a_large_batch_is_one_span_of_bounded_size_and_without_the_trailer(start_ops, receiver):
    server = start_ops(RULES, "--max-batch", "250", env=receiver.environment)
    checks = [chatham_quote() for _ in range(250)]
    with dc.Client(server.target) as client:
        decisions = client.check_batch(checks)  # its trailer would be 8 KiB: the ids are in the results
    with grpc.insecure_channel(server.target) as channel:
        ask = policy_pb2_grpc.PolicyServiceStub(channel).CheckBatch.with_call
        _, at_most = ask(pb.CheckBatchRequest(checks=[check()] * 200), timeout=30)
        _, beyond = ask(pb.CheckBatchRequest(checks=[check()] * 201), timeout=30)
    assert len(dict(at_most.trailing_metadata())[TRAILER].split(",")) == 200
    assert TRAILER not in dict(beyond.trailing_metadata())
    assert server.stop() == 0
    [span] = [span for span in receiver.named(BATCH) if _attributes(span.attributes)["discretion.checks"] == 250]
    attributes = _attributes(span.attributes)
    assert attributes["discretion.decision_ids"] == [decision.decision_id for decision in decisions[:100]]
    assert len(attributes["discretion.decisions"]) == len(attributes["discretion.actions"]) == 100


def test_a_collector_that_never_answers_does_not_hold_up_a_stop(start_ops, tmp_path):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections, never says a word
    try:
        environment = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}",
                       "OTEL_EXPORTER_OTLP_TIMEOUT": "60", "OTEL_BSP_SCHEDULE_DELAY": "50"}
        server = start_ops(RULES, env=environment)
        with dc.Client(server.target) as client:
            for _ in range(5):
                assert client.check(chatham_quote()).decision == "allow_with_obligations"
        # The supervisor kills a worker still stopping after grace + 15 s, and then exits 1: the last spans
        # are given up after 5 s, so each worker stops by itself.
        assert server.stop() == 0, server.log()
    finally:
        silent.close()


def _environ() -> dict[str, str]:
    import os
    return {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}


def test_tracing_is_off_and_opentelemetry_not_imported_without_an_endpoint():
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_SERVICE_NAME": "discretion", "OTEL_TRACES_SAMPLER": "always_on"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4317"})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_SDK_DISABLED": "TRUE"})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_TRACES_EXPORTER": "none"})
    # A server that answered a call, in a process of its own: nothing of OpenTelemetry was loaded.
    program = f"""
import sys, threading
from discretion.server.app import serve
from discretion.server.config import ServerSettings
import grpc
from discretion.server._gen.discretion.v1 import policy_pb2 as pb, policy_pb2_grpc
stop, ready = threading.Event(), []
def on_ready(r):
    ready.append(r)
    with grpc.insecure_channel(f"127.0.0.1:{{r.port}}") as channel:
        policy_pb2_grpc.PolicyServiceStub(channel).ListAgreements(pb.ListAgreementsRequest(), timeout=10)
    stop.set()
code = serve(ServerSettings(rules_dir={str(RULES)!r}, address="127.0.0.1:0"), stop=stop, on_ready=on_ready)
assert code == 0 and ready
print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          env=_environ())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_python_client_sends_the_trace_context_but_never_the_platforms_baggage():
    from opentelemetry import baggage, context

    from discretion_client._channel import Settings

    settings = Settings.make("127.0.0.1:1", 2.0, 1, None, None)
    assert settings.call_metadata() is None  # outside a span: nothing
    with _platform().start_as_current_span("share-button") as platform:
        token = context.attach(baggage.set_baggage("user.id", "u-chen"))
        try:
            sent = dict(settings.call_metadata(request_id="req-1"))
        finally:
            context.detach(token)
    assert sent["traceparent"].startswith(f"00-{platform.get_span_context().trace_id:032x}-"
                                          f"{platform.get_span_context().span_id:016x}-")
    assert "baggage" not in sent and sent["x-request-id"] == "req-1"
    # A platform whose OTEL_PROPAGATORS names one it cannot load still imports the client (and sends no context).
    done = subprocess.run([sys.executable, "-c", "import discretion_client._channel as c; print(c._propagate)"],
                          capture_output=True, text=True, timeout=60, env={**_environ(), "OTEL_PROPAGATORS": "b3"})
    assert (done.returncode, done.stdout.strip()) == (0, "None"), done.stderr
