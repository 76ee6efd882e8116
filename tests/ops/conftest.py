"""A real `discretion serve` with its operator-facing parts on: metrics, the decision log, workers.

Every server binds 127.0.0.1 port 0 for both gRPC and metrics; tests read the
ports from the lines it prints on stderr.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import time
import urllib.request

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from integration.conftest import RULES, RunningServer
from readme_question import ANA, CHEN, ROUNDTABLE, UTC, chatham_quote  # noqa: F401 (shared with the tests here)

METRICS_LINE = re.compile(r'(?:discretion: |"message":")metrics on ([^\s"]+):(\d+)')


class OpsServer(RunningServer):
    def __init__(self, rules: pathlib.Path, *extra: str, workers: int = 2, env: dict[str, str] | None = None):
        super().__init__(rules, "--metrics-address", "127.0.0.1:0", "--workers", str(workers), *extra, env=env)
        match = METRICS_LINE.search(self.log())
        assert match, self.log()
        self.metrics_port = int(match.group(2))

    def scrape(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as page:
            return page.read().decode()

    def samples(self) -> dict[tuple[str, frozenset], float]:
        """Every sample of the metrics page: (name, labels) -> value."""
        found = {}
        for family in text_string_to_metric_families(self.scrape()):
            for sample in family.samples:
                found[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return found

    def sample(self, name: str, **labels: str) -> float:
        return self.samples().get((name, frozenset(labels.items())), 0.0)

    def workers(self) -> set[int]:
        """The pids of the worker processes (children running the server)."""
        pids = set()
        children = pathlib.Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        for pid in children.read_text().split():
            try:
                command = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                pids.add(int(pid))
        return pids

    def wait_for_count(self, pattern: str, count: int, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.log())) >= count:
                return True
            time.sleep(0.05)
        return False

    def status(self) -> pb.GetPolicyStatusResponse:
        with grpc.insecure_channel(self.target) as channel:
            return policy_pb2_grpc.PolicyServiceStub(channel).GetPolicyStatus(pb.GetPolicyStatusRequest(), timeout=10)


@pytest.fixture
def start_ops():
    started: list[OpsServer] = []

    def start(rules: pathlib.Path = RULES, *extra: str, workers: int = 2, env: dict[str, str] | None = None) -> OpsServer:
        server = OpsServer(rules, *extra, workers=workers, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def rules_copy(tmp_path) -> pathlib.Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


def eventually(condition, timeout: float = 20.0, message: str = "condition not met in time") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent has not reaped it yet.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def log_lines(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
