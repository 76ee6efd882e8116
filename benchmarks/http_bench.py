"""The HTTP/JSON face beside gRPC: one `discretion serve --workers 1`, one client each, calls one after another.

    .venv/bin/python benchmarks/http_bench.py [--calls N] [--repeats R]

gRPC is asked with a pre-built message through a raw stub, HTTP with a
pre-encoded JSON body on one kept-alive `http.client` connection; the same
question (the README's quote) both ways. Prints calls/s of each, the median of
the repeats, alternating, and the ratio HTTP/gRPC. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import pathlib
import re
import statistics
import subprocess
import sys
import time

import grpc
from google.protobuf import json_format

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "service"))

from discretion.server._gen.discretion.v1 import policy_pb2 as pb, policy_pb2_grpc  # noqa: E402

QUESTION = {
    "action": "ACTION_QUOTE", "actor": {"id": "u-ana", "member": True},
    "group": {"id": "g-roundtable", "adoptions": [{"agreement": "chatham-house", "version": 1}],
              "participants": [{"id": "u-chen", "displayName": "Li Chen"}]},
    "items": [{"id": "m-1", "author": {"id": "u-chen", "displayName": "Li Chen"}, "postedAt": "2026-03-01T10:00:00Z"}],
    "destination": {"kind": "DESTINATION_KIND_PUBLIC"}, "quotedText": "As Li Chen said, rates will rise.",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "discretion", "serve", "--rules", str(ROOT / "rules"),
                               "--address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--workers", "1",
                               "--metrics-address", "off"], stderr=subprocess.PIPE, text=True)
    ports: dict[str, int] = {}
    for line in server.stderr:
        found = re.search(r"(http|serving) on \S+:(\d+)", line)
        if found:
            ports[found.group(1)] = int(found.group(2))
        if "serving on" in line:
            break
    try:
        message = json_format.ParseDict(QUESTION, pb.CheckRequest())
        body = json.dumps(QUESTION).encode()
        grpc_rates, http_rates = [], []
        for _ in range(args.repeats):
            grpc_rates.append(_grpc(ports["serving"], message, args.calls))
            http_rates.append(_http(ports["http"], body, args.calls))
    finally:
        server.terminate()
        server.wait(30)
    g, h = statistics.median(grpc_rates), statistics.median(http_rates)
    print("| face | calls/s (median) | runs |")
    print("|---|---:|---|")
    print(f"| gRPC | {g:,.0f} | {', '.join(f'{r:,.0f}' for r in grpc_rates)} |")
    print(f"| HTTP/JSON | {h:,.0f} | {', '.join(f'{r:,.0f}' for r in http_rates)} |")
    print(f"\nHTTP/gRPC: {h / g:.2f}x")
    return 0


def _grpc(port: int, message: pb.CheckRequest, calls: int) -> float:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        stub.Check(message, timeout=10)
        started = time.perf_counter()
        for _ in range(calls):
            stub.Check(message, timeout=10)
        return calls / (time.perf_counter() - started)


def _http(port: int, body: bytes, calls: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}

    def ask() -> None:
        connection.request("POST", "/v1/check", body, headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"HTTP {answer.status}")
    ask()
    started = time.perf_counter()
    for _ in range(calls):
        ask()
    rate = calls / (time.perf_counter() - started)
    connection.close()
    return rate


if __name__ == "__main__":
    sys.exit(main())
