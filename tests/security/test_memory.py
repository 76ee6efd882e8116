"""A worker's memory stays bounded whatever the rosters it is sent, over a real `discretion serve`.

Each check below carries close to the most names one check may
(`--max-names-total`): 500 people named by 99 made-up words each, a new
roster every time, so every check builds a large name matcher and the
cache of recent ones must give memory back by bytes, not by count. The
bound is the worker's peak resident memory (VmHWM), read from /proc.
"""

from __future__ import annotations

import random
import string

import grpc

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from integration.conftest import RULES, RunningServer
from server.support import check

PEAK_MIB = 256


def _peak_mib(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) // 1024


def test_large_rosters_one_after_another_keep_a_worker_under_its_memory_bound():
    words = random.Random(7)
    server = RunningServer(RULES, "--metrics-address", "off", "--workers", "1")
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = policy_pb2_grpc.PolicyServiceStub(channel)
            for _ in range(4):
                people = [pb.Person(id=f"p{i}", display_name=" ".join(
                    "".join(words.choice(string.ascii_lowercase) for _ in range(9)) for _ in range(99)))
                    for i in range(500)]
                answer = stub.Check(check(
                    action=pb.ACTION_QUOTE, quoted_text="rates will rise", destination=pb.Destination(
                        kind=pb.DESTINATION_KIND_PUBLIC),
                    group=pb.Group(id="g1", participants=people, adoptions=[pb.Adoption(agreement="chatham-house")]),
                ), timeout=120)
                assert answer.decision != pb.DECISION_UNSPECIFIED
        assert _peak_mib(server.process.pid) <= PEAK_MIB
    finally:
        server.stop()
