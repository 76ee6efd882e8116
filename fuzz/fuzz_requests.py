"""Coverage-guided fuzzing of request conversion and decisions.

Any bytes received as a CheckRequest must end in INVALID_ARGUMENT (a
RequestInvalid naming fields) or in a decision, never in another exception.

    .venv/bin/python fuzz/fuzz_requests.py fuzz/corpus/requests -max_total_time=60
"""

from __future__ import annotations

import pathlib
import sys

import atheris

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "service"))

with atheris.instrument_imports(include=["discretion"]):
    from google.protobuf.message import DecodeError

    from discretion.engine import decide
    from discretion.engine.instants import SECOND
    from discretion.server import convert
    from discretion.server._gen.discretion.v1 import policy_pb2 as pb
    from discretion.store import compile_directory

POLICY = compile_directory(ROOT / "rules")
NOW = 1_800_000_000 * SECOND


def test_one_input(data: bytes) -> None:
    try:
        message = pb.CheckRequest.FromString(data)
    except DecodeError:
        return  # not a CheckRequest at all: gRPC itself refuses such bytes
    try:
        request = convert.request_from_proto(message)
    except convert.RequestInvalid as invalid:
        assert invalid.violations and all(v.field for v in invalid.violations)
        return
    decision = decide(POLICY, request, now=NOW)
    assert decision.decision in ("allow", "allow_with_obligations", "deny")
    convert.response_to_proto(decision, explain=False).SerializeToString()


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
