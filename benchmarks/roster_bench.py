"""What a check costs the server as the group grows: a roster by value, and by reference (`Group.roster_digest`).

    .venv/bin/python benchmarks/roster_bench.py [--quick] [--no-cerbos] [--members N] [--calls N]

Starts `discretion serve` (one worker, the native engine) on the shipped
rules/, and asks one question, a Chatham House quote whose text names a
member, in three groups: 10 members by value, N members (5,000) by value, and
the same N members by reference, once the server holds the roster. For each
it gives the request's size, and the server's CPU per check (its process's
user and system time over a run of sequential calls, the median of the
repeats, the three kinds taking turns within each repeat), as a ratio to the
10-member group's. Then the first call's price: a roster the server does not
hold costs a FAILED_PRECONDITION and the call again with the roster, against
one call by value (median latency, fresh rosters each time).

Beside it, Cerbos 0.55 (installed from npm, as grpc_bench.py does) answers its
own benchmark question with the same N people as an attribute of the
principal, by value, the only way a stateless peer can take them: what carrying
a large group costs a server that reads it and does nothing with it.
`--no-cerbos` leaves it out. Nothing here asserts a time: it measures and prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "service"), str(ROOT / "tests"), str(HERE)]

import grpc  # noqa: E402

import discretion_client as dc  # noqa: E402
from discretion_client import _convert  # noqa: E402
from discretion_client._rosters import Rosters  # noqa: E402
from readme_question import ROUNDTABLE, chatham_quote  # noqa: E402
from servers import Server, start_discretion  # noqa: E402

CHECK = "/discretion.v1.PolicyService/Check"


def group_of(members: int, salt: str = "") -> dc.Group:
    people = [dc.Person(id=f"m{i}{salt}", display_name=f"Member Surname{i}", organization=f"Guild {i % 40}",
                        handles=(f"@member{i}",)) for i in range(members - len(ROUNDTABLE.participants))]
    return dataclasses.replace(ROUNDTABLE, participants=(*ROUNDTABLE.participants, *people))


def question(group: dc.Group) -> dc.CheckRequest:
    return chatham_quote(group=group, quoted_text="As Chen told Member Surname7, rates will rise.")


def wire(request: dc.CheckRequest, by_reference: bool, send: bool = False) -> bytes:
    """The request's bytes: by value, or by its roster's digest (with the participants beside it: `send`)."""
    if not by_reference:
        return _convert.check_request(request).SerializeToString()
    digest = _convert.check_request(request, Rosters(1).refs()).group.roster_digest
    return _convert.check_request(request, Rosters(1).refs(send=[digest] if send else [])).SerializeToString()


def caller(target: str):
    channel = grpc.insecure_channel(target)
    return channel, channel.unary_unary(CHECK, request_serializer=None, response_deserializer=None)


def cpu_per_call(server: Server, call, payload: bytes, calls: int) -> float:
    """Server CPU seconds per call over `calls` sequential calls."""
    before = server.cpu_seconds()
    for _ in range(calls):
        call(payload, timeout=30)
    return (server.cpu_seconds() - before) / calls


def first_call(call, members: int, trials: int) -> tuple[float, float, float]:
    """Median latency (s) of: one call by value; a roster not yet held (refused, then sent); a roster held."""
    by_value, unheld, held = [], [], []
    for trial in range(trials):
        # Two rosters new to the server, one for each way: a roster's name matcher, built on its first call,
        # would otherwise be found by the second.
        fresh = question(group_of(members, salt=f"-v{trial}-{time.monotonic_ns()}"))
        request = question(group_of(members, salt=f"-r{trial}-{time.monotonic_ns()}"))
        value, alone, sent = wire(fresh, False), wire(request, True), wire(request, True, send=True)
        started = time.perf_counter()
        call(value, timeout=30)
        by_value.append(time.perf_counter() - started)
        started = time.perf_counter()
        try:
            call(alone, timeout=30)
            raise RuntimeError("a roster nobody sent was held")
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
        call(sent, timeout=30)
        unheld.append(time.perf_counter() - started)
        started = time.perf_counter()
        call(alone, timeout=30)
        held.append(time.perf_counter() - started)
    return statistics.median(by_value), statistics.median(unheld), statistics.median(held)


def in_process(kinds: dict[str, bytes], roster: bytes, calls: int, repeats: int) -> dict[str, float]:
    """The native engine alone, in this process: CPU seconds per check from a request's bytes to its answer's."""
    import discretion_native
    from discretion.server.limits import Limits
    from discretion.store.files import lower_directory

    engine = discretion_native.Engine(lower_directory(ROOT / "rules").SerializeToString())
    limits, now = dataclasses.asdict(Limits()), time.time_ns()

    def check(payload: bytes) -> None:
        engine.check(engine.decode_check(payload), now, None, limits, "bench")

    check(roster)  # held from here on
    runs: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(repeats):
        for kind, payload in kinds.items():
            check(payload)
            started = time.process_time()
            for _ in range(calls):
                check(payload)
            runs[kind].append((time.process_time() - started) / calls)
    return {kind: statistics.median(times) for kind, times in runs.items()}


def cerbos_rows(members: int, calls: int, repeats: int) -> list[str]:
    import cerbos_peer
    from cerbos.engine.v1 import engine_pb2
    from cerbos.request.v1 import request_pb2
    from google.protobuf import struct_pb2

    folder = pathlib.Path(tempfile.mkdtemp(prefix="roster-bench-cerbos-"))
    server = cerbos_peer.start(cerbos_peer.install(folder), folder)
    try:
        method, (plain, *_) = cerbos_peer.payloads(1)
        asked = request_pb2.CheckResourcesRequest.FromString(plain)
        roster = struct_pb2.ListValue()
        for person in group_of(members).participants:
            roster.values.add().struct_value.update({"id": person.id, "name": person.display_name,
                                                     "organization": person.organization,
                                                     "handles": list(person.handles)})
        heavy = request_pb2.CheckResourcesRequest()
        heavy.CopyFrom(asked)
        heavy.principal.attr["roster"].list_value.CopyFrom(roster)
        channel = grpc.insecure_channel(server.target)
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        small, large = [], []
        for _ in range(repeats):
            small.append(cpu_per_call(server, call, plain, calls))
            large.append(cpu_per_call(server, call, heavy.SerializeToString(), calls))
        channel.close()
        assert isinstance(asked.principal, engine_pb2.Principal)
        base, big = statistics.median(small), statistics.median(large)
        return [f"| Cerbos, its own question | {len(plain) / 1024:.1f} KiB | {base * 1e6:.0f} µs | 1.00× |",
                f"| Cerbos, the same with {members:,} people as a principal attribute | "
                f"{heavy.ByteSize() / 1024:.1f} KiB | {big * 1e6:.0f} µs | {big / base:.2f}× |"]
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few calls: to see that it runs")
    parser.add_argument("--no-cerbos", action="store_true", help="Discretion alone, offline")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=0, help="calls per run (default 400; --quick 20)")
    args = parser.parse_args()
    calls = args.calls or (20 if args.quick else 400)
    repeats, trials = (1, 3) if args.quick else (5, 15)
    folder = pathlib.Path(tempfile.mkdtemp(prefix="roster-bench-"))
    server, _ = start_discretion(ROOT / "rules", folder, workers=1)
    try:
        channel, call = caller(server.target)
        small, large = question(group_of(10)), question(group_of(args.members))
        kinds = {
            "10 members, by value": wire(small, False),
            f"{args.members:,} members, by value": wire(large, False),
            f"{args.members:,} members, by reference": wire(large, True),
        }
        call(wire(large, True, send=True), timeout=30)  # the server holds the roster from here on
        for payload in kinds.values():  # warm: rules, matchers, the channel
            cpu_per_call(server, call, payload, max(5, calls // 10))
        runs: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(repeats):
            for kind, payload in kinds.items():
                runs[kind].append(cpu_per_call(server, call, payload, calls))
        base = statistics.median(runs["10 members, by value"])
        print(f"Server CPU per check, one worker, {calls} sequential calls a run, median of {repeats} runs")
        print("| group | request | server CPU per check | ratio to 10 members |")
        print("|---|---:|---:|---:|")
        for kind, payload in kinds.items():
            median = statistics.median(runs[kind])
            print(f"| {kind} | {len(payload) / 1024:.1f} KiB | {median * 1e6:.0f} µs | {median / base:.2f}× |")
        alone = in_process(kinds, wire(large, True, send=True), calls, repeats)
        print()
        print(f"The native engine alone, in process, {calls} checks a run, median of {repeats} runs")
        print("| group | CPU per check | ratio to 10 members |")
        print("|---|---:|---:|")
        for kind, median in alone.items():
            print(f"| {kind} | {median * 1e6:.0f} µs | {median / alone['10 members, by value']:.2f}× |")
        value, unheld, held = first_call(call, args.members, trials)
        print()
        print(f"The first call by reference, {args.members:,} members, median latency of {trials} fresh rosters")
        print("| call | latency | ratio to by value |")
        print("|---|---:|---:|")
        print(f"| by value | {value * 1e3:.2f} ms | 1.00× |")
        print(f"| by reference, not held: refused, then sent with the roster | {unheld * 1e3:.2f} ms | "
              f"{unheld / value:.2f}× |")
        print(f"| by reference, held | {held * 1e3:.2f} ms | {held / value:.2f}× |")
        channel.close()
    finally:
        server.stop()
    if not args.no_cerbos:
        print()
        print(f"Beside it, Cerbos 0.55, server CPU per check, {calls} calls a run, median of {repeats} runs")
        print("| question | request | server CPU per check | ratio |")
        print("|---|---:|---:|---:|")
        for row in cerbos_rows(args.members, calls, repeats):
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
