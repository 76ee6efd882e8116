"""Following a decision: from the caller's request and trace ids to its log line, and from its id back.

A real `discretion serve` with a decision log, called over gRPC on 127.0.0.1
with the caller's metadata; both engines, since each writes the response.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import grpc
import pytest
from grpc_status import rpc_status

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from discretion.server.correlation import call_of, decision_ids
from server.support import check

from integration.conftest import ROOT

from .conftest import RULES, eventually, log_lines

ROOT_README = ROOT / "README.md"

TRACE_ID, SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"
ENGINES = ["native", "reference"]


def served(start_ops, tmp_path, engine: str, *extra: str):
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log), "--engine", engine, *extra)
    return server, log


def call(server, method: str, request, metadata=()):
    """(response, trailing metadata as a dict) of one call."""
    with grpc.insecure_channel(server.target) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        response, outcome = getattr(stub, method).with_call(request, timeout=30, metadata=metadata)
        return response, dict(outcome.trailing_metadata())


def refusal(server, request, metadata=()) -> tuple[grpc.StatusCode, list[tuple[str, str]]]:
    with grpc.insecure_channel(server.target) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            policy_pb2_grpc.PolicyServiceStub(channel).Check(request, timeout=30, metadata=metadata)
    status = rpc_status.from_call(refused.value)
    violations = []
    for detail in status.details:
        from google.rpc import error_details_pb2
        bad = error_details_pb2.BadRequest()
        detail.Unpack(bad)
        violations.extend((v.field, v.description) for v in bad.field_violations)
    return refused.value.code(), violations


@pytest.mark.parametrize("engine", ENGINES)
def test_a_decision_is_followed_from_the_callers_ids_to_its_log_line_and_back(start_ops, tmp_path, engine):
    server, log = served(start_ops, tmp_path, engine)
    metadata = (("x-request-id", "req-7f3a"), ("traceparent", TRACEPARENT))
    asked = check(request_context={"route": "share-button", "client": "web/4.2"})
    response, trailers = call(server, "Check", asked, metadata)
    assert re.fullmatch("[0-9a-f]{32}", response.decision_id)
    assert trailers["discretion-decision-id"] == response.decision_id
    eventually(lambda: len(log_lines(log)) == 1)
    [line] = log_lines(log)
    assert line["decision_id"] == response.decision_id
    assert (line["request_id"], line["trace_id"], line["span_id"]) == ("req-7f3a", TRACE_ID, SPAN_ID)
    assert line["request_context"] == {"client": "web/4.2", "route": "share-button"}
    assert list(line["request_context"]) == ["client", "route"]  # sorted: the wire's order is the sender's

    # A batch: each entry its own id, the trailer lists them in order, the lines carry them in order.
    checks = [check(request_context={"n": str(n)}) for n in range(3)]
    batch, trailers = call(server, "CheckBatch", pb.CheckBatchRequest(checks=checks), metadata)
    ids = [result.decision_id for result in batch.results]
    assert len(set(ids)) == 3 and response.decision_id not in ids
    assert trailers["discretion-decision-id"] == ",".join(ids)
    eventually(lambda: len(log_lines(log)) == 4)
    lines = log_lines(log)[1:]
    assert [line["decision_id"] for line in lines] == ids
    assert [line["request_context"] for line in lines] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
    assert {line["request_id"] for line in lines} == {"req-7f3a"}


@pytest.mark.parametrize("engine", ENGINES)
def test_without_the_callers_ids_the_line_has_none_and_still_its_decision_id(start_ops, tmp_path, engine):
    server, log = served(start_ops, tmp_path, engine)
    response, _ = call(server, "Check", check())
    eventually(lambda: len(log_lines(log)) == 1)
    [line] = log_lines(log)
    assert line["decision_id"] == response.decision_id
    assert not {"request_id", "trace_id", "span_id", "request_context"} & set(line)


@pytest.mark.parametrize("engine", ENGINES)
def test_malformed_caller_ids_are_left_off_the_line_and_never_fail_the_call(start_ops, tmp_path, engine):
    server, log = served(start_ops, tmp_path, engine)
    bad = [
        ("x" * 129, f"01-{TRACE_ID}-{SPAN_ID}"),  # too long; a traceparent missing its flags
        ("req\u00e9", f"00-{'0' * 32}-{SPAN_ID}-01"),  # not ASCII; an all-zero trace id
        ("", f"ff-{TRACE_ID}-{SPAN_ID}-01"),  # blank; the version no one may send
        ("ok", f"00-{TRACE_ID.upper()}-{SPAN_ID}-01"),  # upper-case hex is not the format
        ("ok", f"00-{TRACE_ID}-{'0' * 16}-01"),  # an all-zero parent
        ("ok", f"00-{TRACE_ID}-{SPAN_ID}-01-extra"),  # version 00 has exactly four fields
    ]
    for request_id, traceparent in bad:
        metadata = [("traceparent", traceparent)]
        if request_id.isascii() and request_id:
            metadata.append(("x-request-id", request_id))
        elif request_id:
            metadata.append(("x-request-id-bin", request_id.encode()))
        response, _ = call(server, "Check", check(), metadata)
        assert response.decision == pb.DECISION_ALLOW
    eventually(lambda: len(log_lines(log)) == len(bad))
    lines = log_lines(log)
    assert not any({"trace_id", "span_id"} & set(line) for line in lines)
    assert [line.get("request_id") for line in lines] == [None, None, None, "ok", "ok", "ok"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_request_context_past_its_limits_is_refused_naming_the_entry(start_ops, tmp_path, engine):
    server, log = served(start_ops, tmp_path, engine, "--max-context-entries", "2", "--max-context-chars", "16")
    assert refusal(server, check(request_context={"a": "1", "b": "2", "c": "3"})) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        [("request_context", "at most 2 entries (limit --max-context-entries), got 3")])
    assert refusal(server, check(request_context={"route": "x" * 12})) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        [("request_context", "at most 16 characters of keys and values (limit --max-context-chars), got 17")])
    # Text is not an id: one violation per entry holding any, in the order of the keys, whatever the wire's.
    code, violations = refusal(server, check(request_context={"z": "line\nbreak", "r\u00e9": "ok"}))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert violations == [
        ("request_context['ré']", "a character outside printable ASCII (U+00E9) has no place in request_context, "
                                  "which holds the caller's ids"),
        ("request_context['z']", "a character outside printable ASCII (U+000A) has no place in request_context, "
                                 "which holds the caller's ids")]
    # Within them: answered, and nothing refused is logged.
    response, _ = call(server, "Check", check(request_context={"a": "1", "b": "x" * 13}))  # 16 characters
    eventually(lambda: len(log_lines(log)) == 1)
    assert [line["decision_id"] for line in log_lines(log)] == [response.decision_id]


def test_context_values_are_hashed_with_the_operators_key_and_keys_are_not(start_ops, tmp_path):
    key = tmp_path / "log.key"
    key.write_bytes(b"k3y-0f-at-least-sixteen-bytes\n")
    server, log = served(start_ops, tmp_path, "native", "--decision-log-hash-ids", str(key))
    call(server, "Check", check(request_context={"user": "ana-lopez"}), (("x-request-id", "req-1"),))
    eventually(lambda: len(log_lines(log)) == 1)
    [line] = log_lines(log)
    expected = hmac.new(b"k3y-0f-at-least-sixteen-bytes", b"ana-lopez", hashlib.sha256).hexdigest()
    assert line["request_context"] == {"user": expected}
    assert "ana-lopez" not in log.read_text()
    assert line["request_id"] == "req-1"  # the caller's correlation id stays as sent: it is how it finds the line


def test_the_readmes_correlated_line_has_the_fields_a_real_line_has(start_ops, tmp_path):
    shown = next(json.loads(line) for line in ROOT_README.read_text().splitlines()
                 if line.startswith('{"decision_id"') and '"request_context"' in line)
    server, log = served(start_ops, tmp_path, "native")
    call(server, "Check", check(request_context={"route": "share-button"}),
         (("x-request-id", "req-7f3a"), ("traceparent", TRACEPARENT)))
    eventually(lambda: len(log_lines(log)) == 1)
    [line] = log_lines(log)
    assert list(line) == list(shown)
    assert (shown["request_id"], shown["trace_id"], shown["span_id"]) == ("req-7f3a", TRACE_ID, SPAN_ID)


def test_the_call_facts_read_from_metadata():
    assert call_of([("x-request-id", "r-1"), ("traceparent", f" {TRACEPARENT} ")]) == ("r-1", TRACE_ID, SPAN_ID, True)
    # A later version may add fields; only version 00 is held to exactly four.
    assert call_of([("traceparent", f"01-{TRACE_ID}-{SPAN_ID}-00-more")]) == ("", TRACE_ID, SPAN_ID, False)
    # Past 512 characters a traceparent is not read, whatever it holds.
    assert call_of([("traceparent", f"01-{TRACE_ID}-{SPAN_ID}-01-{'x' * 460}")]).trace_id == ""
    assert call_of([("x-request-id", "a b")]) == ("a b", "", "", False)
    assert call_of(None) == ("", "", "", False)
    assert call_of([("x-request-id", "\x7f")]) == ("", "", "", False)
    ids = decision_ids(5)
    assert len(set(ids)) == 5 and all(re.fullmatch("[0-9a-f]{32}", one) for one in ids)
    assert decision_ids(0) == []


def test_the_python_client_sends_a_calls_request_id_and_reads_each_decisions_id(start_ops, tmp_path):
    import asyncio

    import discretion_client as dc

    from .conftest import chatham_quote

    server, log = served(start_ops, tmp_path, "native")
    with dc.Client(server.target, metadata={"x-request-id": "fixed"}) as client:
        decision = client.check(chatham_quote(request_context={"route": "quote-button"}), request_id="req-1")
        batch = client.check_batch([chatham_quote(), chatham_quote()], request_id="req-2")
        plain = client.check(chatham_quote())  # the client's own metadata, as before
        with pytest.raises(ValueError, match="request_id"):
            client.check(chatham_quote(), request_id="no\nline breaks")

    async def ask():
        async with dc.AsyncClient(server.target) as client:
            return await client.check(chatham_quote(), request_id="req-3")

    later = asyncio.run(ask())
    eventually(lambda: len(log_lines(log)) == 5)
    lines = {line["decision_id"]: line for line in log_lines(log)}
    assert lines[decision.decision_id]["request_id"] == "req-1"
    assert lines[decision.decision_id]["request_context"] == {"route": "quote-button"}
    assert [lines[d.decision_id]["request_id"] for d in batch] == ["req-2", "req-2"]
    assert lines[plain.decision_id]["request_id"] == "fixed"
    assert lines[later.decision_id]["request_id"] == "req-3"
