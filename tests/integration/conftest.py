"""A real `discretion serve` process on 127.0.0.1, on a port the kernel picks."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
# `discretion: serving on H:P` as text, or the `message` of a JSON line (`--log-format json`).
READY = re.compile(r'(?:discretion: |"message":")serving on ([^\s"]+):(\d+)')


class RunningServer:
    def __init__(self, rules: pathlib.Path, *extra: str, env: dict[str, str] | None = None):
        self.rules = rules
        command = [sys.executable, "-m", "discretion", "serve", "--rules", str(rules),
                   "--address", "127.0.0.1:0", *extra]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.port = 0
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(30):
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            match = READY.search(line)
            if match and not self._ready.is_set():
                self.port = int(match.group(2))
                self._ready.set()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return "".join(self.lines)

    def wait_for_log(self, pattern: str, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log()):
                return True
            time.sleep(0.05)
        return False

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def rules_copy(tmp_path) -> pathlib.Path:
    """A private copy of the shipped rules a test may break."""
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


@pytest.fixture
def start_server():
    started: list[RunningServer] = []

    def start(rules: pathlib.Path = RULES, *extra: str) -> RunningServer:
        server = RunningServer(rules, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_server():
    server = RunningServer(RULES)
    yield server
    server.stop()
