"""In-process benchmarks of the engine: µs per decision, compile time, memory.

    .venv/bin/python benchmarks/engine_bench.py [--quick]

Prints one table. Each figure is measured per call with perf_counter_ns over
many calls after a warm-up; median and p99 are over those calls.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import pathlib
import random
import subprocess
import statistics
import sys
import tempfile
import time
from typing import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "service"), str(ROOT / "benchmarks")]

from discretion.engine import decide  # noqa: E402
from discretion.engine.instants import SECOND  # noqa: E402
from discretion.engine.model import (  # noqa: E402
    Actor, Adoption, Attribution, Destination, Group, Item, Label, Person, Request, Session,
)
from discretion.store import compile_directory  # noqa: E402
from synthetic import write_policy  # noqa: E402

NOW = 1_800_000_000 * SECOND
HOUR, DAY = 3600 * SECOND, 86_400 * SECOND
CHEN = Person(id="u-chen", display_name="Li Chen", organization="Northwind Bank")
ANA = Actor(id="u-ana", display_name="Ana Lopez", organization="Contoso", member=True)


def timed(call, calls: int) -> tuple[float, float]:
    """(median µs, p99 µs) of `call()`."""
    for _ in range(min(calls, 2000)):
        call()
    samples = []
    gc.disable()
    try:
        for _ in range(calls):
            start = time.perf_counter_ns()
            call()
            samples.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000


def chatham_quote(policy, attribution: bool) -> Request:
    group = Group(id="g", adoptions=(Adoption("chatham-house", 1, effective_from=0),), participants=(CHEN,))
    return Request("quote", ANA, group, (Item(id="m-1", author=CHEN, posted_at=NOW - HOUR),),
                   Destination(kind="public"), NOW, Attribution(author_identity=attribution))


def big_export() -> Request:
    """20 items under TLP + Chatham House, with a history: TLP replaced an older stays-in-group."""
    group = Group(id="g", adoptions=(
        Adoption("stays-in-group", 1, effective_from=0),
        Adoption("tlp", 1, effective_from=NOW - 30 * DAY, disclosed_at=NOW - 29 * DAY, replaces=("stays-in-group",)),
        Adoption("chatham-house", 1, effective_from=NOW - 30 * DAY),
    ), participants=tuple(Person(id=f"u{i}", display_name=f"Person {i}", organization=f"Org {i % 5}") for i in range(30)),
        community=("Org 0", "Org 1"))
    colours = ["clear", "green", "amber", "red"]
    items = tuple(
        Item(id=f"i{i}", author=group.participants[i % 30], posted_at=NOW - DAY * (60 - 3 * i),
             labels=(Label("tlp", colours[i % 4]),), session=Session(speaker_count=4))
        for i in range(20)
    )
    return Request("export", ANA, group, items, Destination(kind="personal_archive"), NOW)


def scaling(counts: list[int], calls: int) -> list[tuple[int, float, float, float, float]]:
    """(agreements, reference median and p99 µs per decision, native median and p99 µs bytes to bytes)."""
    import discretion_native
    from discretion.server import convert
    from discretion.server.limits import Limits
    from discretion.store.files import lower_directory

    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_policy(pathlib.Path(tmp) / "rules", count, ROOT / "rules")
            policy = compile_directory(folder)
            engine = discretion_native.Engine(lower_directory(folder).SerializeToString())
        groups = [Group(id=f"g-{n}") for n in random.Random(7).sample(range(count), min(count, 200))]
        requests = [Request("quote", ANA, g, (Item(id="m", author=CHEN, posted_at=NOW - 60 * SECOND),),
                            Destination(kind="public"), NOW, Attribution(author_identity=True)) for g in groups]
        cycle = iter(range(10**9))
        median, p99 = timed(lambda: decide(policy, requests[next(cycle) % len(requests)], now=NOW), calls)
        wire = [discretion_native.Engine.decode_check(convert.request_to_proto(r).SerializeToString())
                for r in requests]
        limits = dataclasses.asdict(Limits())
        native = timed(lambda: engine.check(wire[next(cycle) % len(wire)], NOW, None, limits, ""), calls)
        rows.append((count, median, p99, *native))
    return rows


def native_load_time(agreements: int) -> float:
    """Seconds to build the native engine from the compiled form of such a policy (what a reload pays
    beside compiling): the median of five builds."""
    import discretion_native
    from discretion.store.files import lower_directory

    with tempfile.TemporaryDirectory() as tmp:
        data = lower_directory(write_policy(pathlib.Path(tmp) / "rules", agreements)).SerializeToString()
    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        discretion_native.Engine(data)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def compile_time(agreements: int) -> tuple[float, int]:
    """Seconds to compile a policy of `agreements` agreements, and its rules, in a new process.

    A new process, as a worker starting or a reload sees it: in this one, the
    garbage of the scaling runs (policies of up to 10,000 agreements) would be
    walked by the collector during the compile and add a third to its time.
    """
    script = f"""
import pathlib, sys, tempfile, time
sys.path[:0] = [{str(ROOT / "service")!r}, {str(ROOT / "benchmarks")!r}]
from discretion.store import compile_directory
from synthetic import write_policy
with tempfile.TemporaryDirectory() as tmp:
    folder = write_policy(pathlib.Path(tmp) / "rules", {agreements})
    start = time.perf_counter()
    policy = compile_directory(folder)
    elapsed = time.perf_counter() - start
rules = sum(len({{id(r) for rules in v.index.values() for r in rules}})
            for versions in policy.versions.values() for v in versions.values())
print(elapsed, rules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    elapsed, rules = out.split()
    return float(elapsed), int(rules)


def policy_rss_mb(agreements: int) -> float:
    """Peak RSS of a new process that imports the service and compiles such a policy, as a worker does:
    the reference's policy and the native engine built from the same compiled form."""
    script = f"""
import pathlib, sys, tempfile
sys.path[:0] = [{str(ROOT / "service")!r}, {str(ROOT / "benchmarks")!r}]
import discretion.server.app
import discretion_native
from discretion.store import compile_directory
from discretion.store.files import lower_directory
from synthetic import write_policy
if {agreements}:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_policy(pathlib.Path(tmp) / "rules", {agreements}, pathlib.Path({str(ROOT / "rules")!r}))
        policy = compile_directory(folder)
        engine = discretion_native.Engine(lower_directory(folder).SerializeToString())
# VmHWM, not getrusage: Linux carries ru_maxrss over an exec, so a child
# started by a big process would report its parent's peak.
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def wire_quote() -> Request:
    """A named Chatham House quote of one sentence, in a group of three."""
    people = (CHEN, Person(id="u-sam", display_name="Sam Okafor", organization="Contoso"),
              Person(id="u-kim", display_name="Kim Young", organization="Acme CERT"))
    group = Group(id="g", adoptions=(Adoption("chatham-house", 1, effective_from=0),), participants=people)
    return Request("quote", ANA, group, (Item(id="m-1", author=CHEN, posted_at=NOW - HOUR),),
                   Destination(kind="public"), NOW, Attribution(author_identity=True),
                   quoted_text="As Li Chen said, Northwind Bank will not move its rates this year.")


def bytes_to_bytes(request: Request, rules: pathlib.Path, kept: bool = True
                   ) -> tuple[Callable[[], bytes], Callable[[], bytes]]:
    """What the server pays for one Check from its bytes to its answer's, by the reference and by the native engine.

    Both read the bytes, check the limits, convert at the server's clock, decide and write the answer; the
    native engine does it all in Rust (servicer._check_natively), the reference in Python (servicer._check).
    `kept`: the native engine keeps the roster's name matcher between calls, as a server does; without it,
    it builds it on every call, as for a roster it has not seen.
    """
    import discretion_native
    from discretion.server import convert, limits, servicer
    from discretion.server._gen.discretion.v1 import policy_pb2
    from discretion.server.limits import Limits
    from discretion.store.files import lower_directory

    policy = compile_directory(rules)
    engine = discretion_native.Engine(lower_directory(rules).SerializeToString())
    data = convert.request_to_proto(request).SerializeToString()
    settings = Limits()
    native_limits = dataclasses.asdict(settings)  # as servicer hands them to the native engine
    clock = convert.Clock(NOW, None)

    def reference() -> bytes:
        message = servicer._read(policy_pb2.CheckRequest, data)
        limits.check_request(message, settings)
        facts = convert.request_from_proto(message, clock)
        limits.check_strings(message, facts, settings)
        return convert.response_to_proto(decide(policy, facts, now=NOW), explain=False).SerializeToString()

    def native() -> bytes:
        return engine.check(engine.decode_check(data), NOW, None, native_limits, caller)[0]

    caller = "" if kept else None

    assert policy_pb2.CheckResponse.FromString(reference()) == policy_pb2.CheckResponse.FromString(native())
    return reference, native


def native_stages(request: Request, rules: pathlib.Path, calls: int) -> str:
    """native/examples/stages.rs on this request: each stage of a native call in Rust alone, ns."""
    from discretion.server import convert
    from discretion.store.files import lower_directory

    with tempfile.TemporaryDirectory() as tmp:
        policy, check = pathlib.Path(tmp) / "policy.binpb", pathlib.Path(tmp) / "check.binpb"
        policy.write_bytes(lower_directory(rules).SerializeToString())
        check.write_bytes(convert.request_to_proto(request).SerializeToString())
        run = subprocess.run(["cargo", "run", "--quiet", "--release", "--example", "stages", "--manifest-path",
                              str(ROOT / "native" / "Cargo.toml"), "--", str(policy), str(check), str(calls)],
                             capture_output=True, text=True, check=True)
    return run.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls, smaller policies (a smoke run)")
    args = parser.parse_args()
    calls = 2000 if args.quick else 50_000
    counts = [10, 100] if args.quick else [10, 100, 1_000, 10_000]

    shipped = compile_directory(ROOT / "rules")
    rows = []
    plain, named = chatham_quote(shipped, False), chatham_quote(shipped, True)
    rows.append(("decide: Chatham House quote, 1 item, no name", *timed(lambda: decide(shipped, plain, now=NOW), calls)))
    rows.append(("decide: Chatham House quote, 1 item, named (2 obligations)",
                 *timed(lambda: decide(shipped, named, now=NOW), calls)))
    export = big_export()
    rows.append(("decide: 20-item export, TLP + Chatham House, with history",
                 *timed(lambda: decide(shipped, export, now=NOW), calls // 10)))
    for name, request, share in (("Chatham House quote, 3 people, named in one sentence", wire_quote(), 1),
                                 ("20-item export, TLP + Chatham House, with history", export, 10)):
        reference, native = bytes_to_bytes(request, ROOT / "rules")
        # Alternating, so both see the same machine.
        first, second = timed(reference, calls // share), timed(native, calls // share)
        rows.append((f"bytes to bytes, reference: {name}", *first))
        rows.append((f"bytes to bytes, native: {name} (× {second[0] / first[0]:.3f})", *second))
        _, unkept = bytes_to_bytes(request, ROOT / "rules", kept=False)
        third = timed(unkept, calls // share)
        rows.append((f"bytes to bytes, native, roster not seen before: {name} (× {third[0] / first[0]:.3f})",
                     *third))
    print(f"{'benchmark':64} {'median µs':>10} {'p99 µs':>10}")
    for name, median, p99 in rows:
        print(f"{name:64} {median:10.1f} {p99:10.1f}")
    for name, request in (("Chatham House quote, 3 people, named in one sentence", wire_quote()),
                          ("20-item export, TLP + Chatham House, with history", export)):
        print(f"the native engine in Rust alone (native/examples/stages.rs), {name}:")
        for line in native_stages(request, ROOT / "rules", 2_000 if args.quick else 20_000).splitlines():
            print(f"  {line}")
    scaled = scaling(counts, calls // 5)
    base, native_base = scaled[0][1], scaled[0][3]
    for count, median, p99, native, native_p99 in scaled:
        print(f"{f'decide: policy of {count:,} agreements (× {median / base:.2f} of 10)':64} {median:10.1f} {p99:10.1f}")
        print(f"{f'native, bytes to bytes: {count:,} agreements (× {native / native_base:.2f} of 10)':64} "
              f"{native:10.1f} {native_p99:10.1f}")
    seconds, rules = compile_time(250 if args.quick else 2_500)
    print(f"compile: {rules:,} rules in {seconds:.2f} s")
    print(f"native engine built from the compiled form of those {rules:,} rules in "
          f"{native_load_time(250 if args.quick else 2_500) * 1000:.0f} ms")
    agreements = 100 if args.quick else 1_000
    print(f"memory: RSS of a fresh process holding {agreements:,} agreements, in both engines: "
          f"{policy_rss_mb(agreements):.0f} MB "
          f"(the same process with no policy: {policy_rss_mb(0):.0f} MB)")
    print("server work per decision on the gRPC benchmark's batch of 20 (best of 5 rounds), µs:")
    stages = batch_stages(50 if args.quick else 500)
    for stage, micros in stages:
        print(f"  {stage:58} {micros:6.2f}")
    print(f"  {'all of it, log off (as the gRPC benchmark serves)':58} "
          f"{sum(m for name, m in stages if not name.startswith('decision log')):6.2f}")
    print(f"  {'the native engine: all of it but the metrics, in one call':58} "
          f"{native_batch(50 if args.quick else 500):6.2f}")


def native_batch(rounds: int) -> float:
    """µs per decision of the native engine on the gRPC benchmark's batch of 20, bytes to bytes."""
    import timeit

    import discretion_native
    import mix
    from discretion.server.limits import Limits
    from discretion.store.files import lower_directory

    engine = discretion_native.Engine(
        lower_directory(ROOT / "benchmarks" / "policies" / "discretion").SerializeToString())
    _, (raw,) = mix.discretion_payloads(20)
    limits = dataclasses.asdict(Limits())
    decided = discretion_native.Engine.decode_batch

    def step() -> None:
        engine.check_batch(decided(raw), time.time_ns(), None, limits, 100, "")

    return min(timeit.repeat(step, number=rounds, repeat=5)) / rounds / 20 * 1e6


def batch_stages(rounds: int) -> list[tuple[str, float]]:
    """What CheckBatch does with the benchmark's mix, step by step, in process: the part of a
    decision's server CPU that is Discretion's own (gRPC's share is the floor's, measured over gRPC)."""
    import timeit

    import mix
    from discretion.server import convert, limits
    from discretion.server._gen.discretion.v1 import policy_pb2 as pb
    from discretion.server.decision_log import DecisionLog, Entry, LogRelay
    from discretion.server.summary import Summary
    from discretion.server.metrics import Metrics

    policy = compile_directory(ROOT / "benchmarks" / "policies" / "discretion")
    _, (raw,) = mix.discretion_payloads(20)
    request = pb.CheckBatchRequest.FromString(raw)
    facts = convert.requests_from_batch(request, 100)
    decisions = [decide(policy, f, now=NOW) for f in facts]
    metrics = Metrics()

    def answer() -> pb.CheckBatchResponse:
        response = pb.CheckBatchResponse()
        for decision in decisions:
            convert.response_to_proto(decision, explain=False, into=response.results.add())
        return response

    built = answer()
    relay = LogRelay(os.devnull)  # drains the pipe, as a supervisor does
    decision_log = DecisionLog(relay.pipe())
    summaries = [Summary.of(f, d) for f, d in zip(facts, decisions)]
    entries = [Entry(summary, 1e-4) for summary in summaries]
    steps = [
        ("parse the request (protobuf)", lambda: pb.CheckBatchRequest.FromString(raw)),
        ("check the limits", lambda: limits.check_batch(request, limits.Limits(), 100)),
        ("convert to the engine's request", lambda: convert.requests_from_batch(request, 100)),
        ("decide()", lambda: [decide(policy, f, now=NOW) for f in facts]),
        ("count in the metrics", lambda: [metrics.decided(Summary.of(f, d)) for f, d in zip(facts, decisions)]),
        ("build the answer", answer),
        ("serialize the answer (protobuf)", built.SerializeToString),
        ("decision log, when on (format and write the lines)", lambda: decision_log.record(entries, NOW)),
    ]
    per_decision = len(facts)
    try:
        return [(name, min(timeit.repeat(step, number=rounds, repeat=5)) / rounds / per_decision * 1e6)
                for name, step in steps]
    finally:
        decision_log.close()
        relay.close(timeout=10)


if __name__ == "__main__":
    main()
