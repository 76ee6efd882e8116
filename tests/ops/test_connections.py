"""Connections that end, so replicas added later get calls from clients already connected.

Two real servers on one port of two loopback addresses, a name a tiny DNS
server in the test resolves to the first and then to both, and a channel with
the Python client's options (round_robin over every address).
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import grpc

from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from discretion_client._channel import channel_options
from server.support import check

from .conftest import RULES

NAME = "discretion.test"


class TinyDns:
    """Answers A queries for NAME with `addresses` (which a test changes), and anything else with no record."""

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            self.sock.sendto(self._answer(query), peer)

    def _answer(self, query: bytes) -> bytes:
        at, labels = 12, []
        while query[at]:
            labels.append(query[at + 1:at + 1 + query[at]].decode())
            at += 1 + query[at]
        question = query[12:at + 5]
        qtype = struct.unpack(">H", query[at + 1:at + 3])[0]
        answers = [a for a in self.addresses] if qtype == 1 and ".".join(labels).lower() == NAME else []
        header = query[:2] + struct.pack(">HHHHH", 0x8180, 1, len(answers), 0, 0)
        records = b"".join(struct.pack(">HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(a) for a in answers)
        return header + question + records

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def decided(server) -> float:
    return sum(value for (name, _), value in server.samples().items() if name == "discretion_decisions_total")


def calls_reach_the_second(start_ops, age: str, seconds: float) -> tuple[float, float]:
    """(decisions of the first server, of the second) after calling for up to `seconds` once the second is up."""
    first = start_ops(RULES, "--workers", "1", "--max-connection-age", age, "--max-connection-age-grace", "1")
    dns = TinyDns()
    dns.addresses = ["127.0.0.1"]
    options = [*channel_options(), ("grpc.dns_min_time_between_resolutions_ms", 500)]  # the default waits 30 s
    try:
        with grpc.insecure_channel(f"dns://127.0.0.1:{dns.port}/{NAME}:{first.port}", options=options) as channel:
            stub = policy_pb2_grpc.PolicyServiceStub(channel)
            stub.Check(check(), timeout=10)
            second = start_ops(RULES, "--workers", "1", "--address", f"127.0.0.2:{first.port}",
                               "--max-connection-age", age)
            dns.addresses = ["127.0.0.1", "127.0.0.2"]  # a replica added: the name now says so
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not decided(second):
                stub.Check(check(), timeout=10)
                time.sleep(0.05)
            for _ in range(20):
                stub.Check(check(), timeout=10)
            return decided(first), decided(second)
    finally:
        dns.close()


def test_a_replica_added_later_gets_calls_once_connections_age(start_ops):
    first, second = calls_reach_the_second(start_ops, "1", 20)
    assert second >= 5 and first >= 5, (first, second)  # round robin over both, on the channel it already had


def test_without_an_age_a_connected_client_never_sees_the_new_replica(start_ops):
    first, second = calls_reach_the_second(start_ops, "off", 4)
    assert (second, first > 20) == (0, True)


def test_a_zero_age_or_keepalive_is_refused_at_start():
    import subprocess
    import sys

    for flag in ("--max-connection-age", "--max-connection-age-grace", "--keepalive-time", "--keepalive-timeout"):
        result = subprocess.run([sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), flag, "0"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "expected more than 0 seconds, got `0`" in result.stderr, flag
