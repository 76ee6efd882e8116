"""The benchmark harness's servers stop when the harness dies, however it dies."""

from __future__ import annotations

import subprocess
import sys
import time

from integration.conftest import ROOT

from .conftest import RULES, alive

HARNESS = f"""
import pathlib, sys, time
sys.path.insert(0, {str(ROOT / "benchmarks")!r})
import servers
log = pathlib.Path(sys.argv[1])
process = servers.start_process([sys.executable, "-m", "discretion", "serve", "--rules", {str(RULES)!r},
                                 "--address", "127.0.0.1:0", "--workers", "1", "--metrics-address", "off"], log)
while "serving on" not in log.read_text():
    time.sleep(0.05)
print(process.pid, flush=True)
time.sleep(600)
"""


def test_a_server_the_harness_started_stops_when_the_harness_is_killed(tmp_path):
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(tmp_path / "server.log")], stdout=subprocess.PIPE,
                               text=True)
    server = int(harness.stdout.readline())
    assert alive(server)
    harness.kill()  # SIGKILL: no `finally`, no handler
    harness.wait()
    deadline = time.monotonic() + 30
    while alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(server), "the server outlived the harness that started it"
    assert "discretion: stopped" in (tmp_path / "server.log").read_text()  # stopped gracefully, by SIGTERM
