"""A request whose caller stopped waiting stops being worked on, over a real `discretion serve`.

The request is within every limit and crafted to be slow: 499 people
named `a`, `a a`, … and texts of fifty thousand words `a` hold about 10⁷
whole-word matches each, which once took seconds of a worker per text; each
text now stops at `identify._MAX_MATCHES_PER_CHAR` matches per character and
counts as naming throughout, so 30 of them (3 MB in all) are needed for a
slow call. With one worker and one thread, the next caller is served only if
the first call's work stopped at its deadline; and nothing of it is decided
or logged. The same holds of each engine (`--engine`).
"""

from __future__ import annotations

import time

import grpc
import pytest

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from integration.conftest import RULES, RunningServer
from ops.conftest import log_lines
from server.support import check


def crafted(texts: int = 30) -> pb.CheckRequest:
    people = [pb.Person(id=f"p{n}", display_name=" ".join("a" * n)) for n in range(1, 500)]  # 249,001 characters
    items = [pb.Item(id=f"m{i}", author=pb.Person(id="bo"), text=" ".join("a" * 50_000)) for i in range(texts)]
    return check(action=pb.ACTION_EXPORT, items=items, destination=pb.Destination(kind=pb.DESTINATION_KIND_PUBLIC),
                 group=pb.Group(id="g1", participants=people, adoptions=[pb.Adoption(agreement="chatham-house")]))


# engine: (texts of the slow call, flags, seconds the next call may wait). The native engine reads
# the same texts many times as fast: ten times as many, in a larger message, take it about five
# seconds, so the next call is answered within three only if the slow one stopped at its deadline.
ENGINES = {"reference": (30, (), 8.0), "native": (300, ("--max-message-bytes", str(64 * 2**20)), 3.0)}


@pytest.fixture(params=sorted(ENGINES))
def server(request, tmp_path):
    texts, flags, wait = ENGINES[request.param]
    running = RunningServer(RULES, "--metrics-address", "off", "--workers", "1", "--threads", "1",
                            "--decision-log", str(tmp_path / "decisions.jsonl"), "--engine", request.param, *flags)
    yield running, tmp_path / "decisions.jsonl", texts, wait
    running.stop()


def test_work_for_a_caller_that_stopped_waiting_stops(server):
    running, log, texts, wait = server
    with grpc.insecure_channel(running.target) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        slow = crafted(texts)
        for call, request in ((stub.Check, slow), (stub.CheckBatch, pb.CheckBatchRequest(checks=[slow]))):
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as abandoned:
                call(request, timeout=1.0)
            assert abandoned.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # The one thread is free again soon after the deadline, not after the work would have ended.
            assert stub.Check(check(), timeout=wait).decision != pb.DECISION_UNSPECIFIED, time.monotonic() - started
    time.sleep(0.5)
    assert len(log_lines(log)) == 2  # the two ordinary checks; nothing of the abandoned ones
