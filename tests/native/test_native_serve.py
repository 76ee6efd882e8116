"""A real server answering with the native engine, held to one answering with the reference.

Every shipped suite request goes in as bytes to a server run `--engine native`
and to one run `--engine reference`; the answers, parsed, must be equal (the
status and its details for a refusal). The reference still explains, a
tenant's native view is its reference view, and a compiled form the native
engine refuses is served by the reference and said so.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import logging
import pathlib
import re
import shutil
from typing import Iterator

import discretion_native
import grpc
import pytest
import yaml
from grpc_status import rpc_status

from discretion.engine import decide
from discretion.engine.build import build_policy
from discretion.engine.instants import SECOND
from discretion.engine.model import Actor, Adoption, Destination, Group, Item, Person, Request
from discretion.server import convert
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server.app import create_server
from discretion.server.auth import TenantsFile
from discretion.server.config import ServerSettings
from discretion.server.limits import Limits
from discretion.server.summary import Summary
from discretion.store.files import lower_directory
from discretion.store.holder import PolicyHolder

from conftest import RULES, shipped_requests



def _on_the_wire():
    """(case name, CheckRequest bytes) of every suite request the wire can carry (a few name words it has not)."""
    for name, request in shipped_requests():
        try:
            yield name, convert.request_to_proto(request).SerializeToString()
        except ValueError:
            continue


SUITE_BYTES = list(_on_the_wire())
TOKEN = "forum-token-of-at-least-some-length"


@contextlib.contextmanager
def serving(rules: pathlib.Path, engine: str, **settings) -> Iterator[tuple[grpc.Channel, PolicyHolder]]:
    """A real server on 127.0.0.1 deciding with `engine`, the suites' `requested_at` honoured."""
    holder = PolicyHolder(rules, native=engine == "native")
    assert holder.reload()
    server, port = create_server(ServerSettings(address="127.0.0.1:0", max_clock_skew=None, engine=engine,
                                                **settings), holder)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel, holder
    finally:
        server.stop(None)


def answer(channel: grpc.Channel, method: str, data: bytes, metadata=()) -> tuple:
    """The response as parsed, or the refusal's code, message and details: what a caller can tell apart."""
    call = channel.unary_unary(f"/discretion.v1.PolicyService/{method}")  # bytes in, bytes out
    parse = pb.CheckResponse if method == "Check" else pb.CheckBatchResponse
    try:
        data, outcome = call.with_call(data, timeout=30, metadata=metadata)
        return ("answered", without_decision_ids(parse.FromString(data), outcome.trailing_metadata()))
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        return ("refused", error.code(), error.details(), status and list(status.details))


def without_decision_ids(response, trailers):
    """The response without its decision ids, which differ on every call, once they are found well formed,
    each its own, and listed in order in the trailer."""
    answers = [response] if isinstance(response, pb.CheckResponse) else list(response.results)
    ids = [one.decision_id for one in answers]
    assert all(re.fullmatch("[0-9a-f]{32}", one) for one in ids) and len(set(ids)) == len(ids), ids
    assert dict(trailers)["discretion-decision-id"] == ",".join(ids)
    for one in answers:
        one.ClearField("decision_id")
    return response


@pytest.fixture(scope="module")
def both():
    with serving(RULES, "native") as (native, holder), serving(RULES, "reference") as (reference, other):
        assert (holder.status().engine, other.status().engine) == ("native", "reference")
        assert holder.serving.engine is not None and other.serving.engine is None
        yield native, reference


@pytest.mark.parametrize("name, data", SUITE_BYTES, ids=[n for n, _ in SUITE_BYTES])
def test_every_suite_request_is_answered_as_the_reference_answers_it(both, name, data):
    native, reference = both
    assert answer(native, "Check", data) == answer(reference, "Check", data)


def test_the_suites_in_one_batch_and_in_batches_too_large_are_answered_as_the_reference_answers_them(both):
    native, reference = both
    checks = [pb.CheckRequest.FromString(data) for _, data in SUITE_BYTES]
    for batch in (checks[:100], checks[100:200], checks[:101]):  # the last over --max-batch
        data = pb.CheckBatchRequest(checks=batch).SerializeToString()
        assert answer(native, "CheckBatch", data) == answer(reference, "CheckBatch", data)


@pytest.mark.parametrize("data", [b"\x0a", b"\x52\x01\xff", b"\x0a\x02\x08\x01\x13\x14", b""])
def test_bytes_that_are_no_request_are_refused_in_the_reference_words(both, data):
    native, reference = both
    for method in ("Check", "CheckBatch"):
        assert answer(native, method, data) == answer(reference, method, data)


def test_an_explanation_is_the_reference_one(both):
    native, reference = both
    for _, data in SUITE_BYTES[:20]:
        asked = pb.CheckRequest.FromString(data)
        asked.explain = True
        data = asked.SerializeToString()
        native_answer, reference_answer = answer(native, "Check", data), answer(reference, "Check", data)
        assert native_answer == reference_answer
        if native_answer[0] == "answered":
            assert native_answer[1].explanation
        batch = pb.CheckBatchRequest(checks=[pb.CheckRequest.FromString(d) for _, d in SUITE_BYTES[:3]] + [asked])
        data = batch.SerializeToString()
        assert answer(native, "CheckBatch", data) == answer(reference, "CheckBatch", data)


def test_a_tenant_sees_only_its_view_through_the_native_engine(tmp_path):
    """A tenant given one agreement: every other is refused as unknown, by both engines in the same words."""
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump({
        "admin": {"tokens": [hashlib.sha256(b"admin-token-of-some-length").hexdigest()]},
        "tenants": [{"id": "forum", "tokens": [hashlib.sha256(TOKEN.encode()).hexdigest()], "groups": ["*"],
                     "agreements": ["chatham-house"]}],
    }))
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    with (serving(RULES, "native", tenants=TenantsFile(path)) as (native, holder),
          serving(RULES, "reference", tenants=TenantsFile(path)) as (reference, _)):
        differing = 0
        for _, data in SUITE_BYTES:
            native_answer = answer(native, "Check", data, metadata)
            assert native_answer == answer(reference, "Check", data, metadata)
            differing += native_answer != answer(native, "Check", data)  # what the view changed
        assert differing  # the view is narrower than the whole policy
        assert len(holder.serving.engine.views) == 1  # built once, kept for the tenant
        assert answer(native, "Check", SUITE_BYTES[0][1])[1] == grpc.StatusCode.UNAUTHENTICATED


def test_a_compiled_form_the_native_engine_refuses_is_served_by_the_reference_and_said_so(tmp_path, caplog):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "letters.yaml").write_text(
        "agreement: letters\ntitle: Letters\nsummary: a folded letter\nversions:\n  - version: 1\n    rules:\n"
        "      - id: letters\n        effect: deny\n        reason: {code: letters, message: letters}\n"
        '        when: {quoted_text: {matches: "(?i)café"}}\n')
    with pytest.raises(ValueError, match="beyond ASCII whose case is folded"):
        discretion_native.Engine(lower_directory(rules).SerializeToString())
    with caplog.at_level(logging.INFO, logger="discretion.store"), serving(rules, "native") as (channel, holder):
        assert holder.serving.engine is None
        assert holder.status().engine == "reference"
        said = [r.getMessage() for r in caplog.records]
        assert any("native engine cannot serve revision" in line and "case is folded" in line for line in said)
        assert any("decided by the reference engine" in line for line in said)
        with serving(rules, "reference") as (reference, _):
            for _, data in SUITE_BYTES[:30]:
                assert answer(channel, "Check", data) == answer(reference, "Check", data)


def test_what_is_counted_and_logged_of_a_native_decision_is_what_the_reference_decision_gives():
    """The summary the metrics and the decision log read: every field, for every suite request decided."""
    compiled = lower_directory(RULES)
    engine, policy = discretion_native.Engine(compiled.SerializeToString()), build_policy(compiled)
    now, limits = 1_800_000_000 * SECOND, dataclasses.asdict(Limits())
    decided = 0
    for _, data in SUITE_BYTES:
        try:
            _, (fields,) = engine.check(discretion_native.Engine.decode_check(data), now, None, limits)
        except discretion_native.Refused:
            continue
        facts = convert.request_from_proto(pb.CheckRequest.FromString(data), convert.Clock(now, None))
        native = Summary(*(tuple(f) if isinstance(f, list) else f for f in fields))
        assert native == Summary.of(facts, decide(policy, facts, now=now))
        decided += 1
    assert decided > len(SUITE_BYTES) // 2


@pytest.mark.parametrize("argv, environment, engine", [
    ([], {}, "native"),
    (["--engine", "reference"], {}, "reference"),
    ([], {"DISCRETION_ENGINE": "reference"}, "reference"),
])
def test_the_engine_is_a_serve_flag_with_its_environment_variable(monkeypatch, argv, environment, engine):
    from discretion.cli import serve

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    assert parser.parse_args(["serve", *argv]).engine == engine


def test_a_roster_seen_before_is_answered_from_kept_matchers_as_a_fresh_one_is():
    """Kept name matchers change how fast, never what: every suite request, fresh, first kept and kept again."""
    engine = discretion_native.Engine(lower_directory(RULES).SerializeToString())
    now, limits = 1_800_000_000 * SECOND, dataclasses.asdict(Limits())
    compared = 0
    for _, data in SUITE_BYTES:
        decoded = discretion_native.Engine.decode_check(data)
        try:
            fresh = engine.check(decoded, now, None, limits, None)
        except discretion_native.Refused:
            continue
        assert engine.check(decoded, now, None, limits, "kept") == fresh
        assert engine.check(decoded, now, None, limits, "kept") == fresh
        compared += 1
    assert compared > len(SUITE_BYTES) // 2


def test_kept_matchers_are_each_callers_own_and_within_their_budget():
    engine = discretion_native.Engine(lower_directory(RULES).SerializeToString())
    now, limits = 1_800_000_000 * SECOND, dataclasses.asdict(Limits())
    people = tuple(Person(id=f"u-{n}", display_name=f"Person Number{n} Okonkwo{id(engine)}") for n in range(50))
    group = Group(id="g", adoptions=(Adoption("chatham-house", 1, effective_from=0),), participants=people)
    request = convert.request_to_proto(Request(
        "quote", Actor(id="u-0"), group, (Item(id="m", author=people[1], posted_at=now - 3600 * SECOND),),
        Destination(kind="public"), now, quoted_text=f"As Number7 said, {people[3].display_name} agrees."))
    decoded = discretion_native.Engine.decode_check(request.SerializeToString())

    def kept_after(caller: str | None) -> tuple[int, int]:
        engine.check(decoded, now, None, limits, caller)
        return discretion_native.matcher_cache_usage()

    try:
        discretion_native.set_matcher_cache_bytes(0)  # whatever earlier tests kept is let go
        discretion_native.set_matcher_cache_bytes(32 * 2**20)
        entries = 0
        assert kept_after(None)[0] == entries  # a caller of no one's keeps nothing
        assert kept_after("tenant-a")[0] == entries + 1
        assert kept_after("tenant-a")[0] == entries + 1  # found, not built again
        assert kept_after("tenant-b")[0] == entries + 2  # another tenant finds none of tenant-a's
        discretion_native.set_matcher_cache_bytes(0)
        assert discretion_native.matcher_cache_usage() == (0, 0)
        assert kept_after("tenant-a") == (0, 0)  # over the budget: used, not kept
    finally:
        discretion_native.set_matcher_cache_bytes(32 * 2**20)


def test_a_call_past_its_deadline_is_abandoned_whole():
    """Refused as `abandoned` (the servicer's DEADLINE_EXCEEDED), whatever was decided: a check and a batch."""
    engine = discretion_native.Engine(lower_directory(RULES).SerializeToString())
    now, limits = 1_800_000_000 * SECOND, dataclasses.asdict(Limits())
    abandoned = 0
    for _, data in SUITE_BYTES[:60]:
        batch = pb.CheckBatchRequest(checks=[pb.CheckRequest.FromString(data)]).SerializeToString()
        for call, args in ((engine.check, (discretion_native.Engine.decode_check(data), now, None, limits)),
                           (engine.check_batch, (discretion_native.Engine.decode_batch(batch), now, None, limits, 100))):
            try:
                call(*args, "late", 60.0)  # in time: answered
            except discretion_native.Refused as refused:
                assert refused.args[0] == "invalid"
                continue
            with pytest.raises(discretion_native.Refused) as late:
                call(*args, "late", 0.0)
            assert late.value.args == ("abandoned", "the caller's deadline passed while it was decided")
            abandoned += 1
    assert abandoned > 60


def test_the_servers_matcher_budget_is_the_native_engines_too():
    """`--matcher-cache-bytes` bounds the native engine's kept matchers as it does the reference's: 0 keeps none."""
    try:
        with serving(RULES, "native", matcher_cache_bytes=0) as (channel, _):
            assert discretion_native.matcher_cache_usage() == (0, 0)
            answered = [answer(channel, "Check", data)[0] for _, data in SUITE_BYTES[:80]]
            assert answered.count("answered") > 40
            assert discretion_native.matcher_cache_usage() == (0, 0)
        with serving(RULES, "native") as (channel, _):
            for _, data in SUITE_BYTES[:80]:
                answer(channel, "Check", data)
            assert discretion_native.matcher_cache_usage()[0] > 0  # the default budget keeps them
    finally:
        discretion_native.set_matcher_cache_bytes(32 * 2**20)
