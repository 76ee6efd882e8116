"""Servers under test as processes: start, wait until ready, account for, stop.

What a server costs is read from /proc for the process and its children (a
supervisor's workers included): resident memory (VmRSS), CPU time, and which
process holds each client connection.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")
_START_TIMEOUT = 60.0


def free_port() -> int:
    """A port free on loopback now (bind to 0, read it, let it go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_process(command: list[str], log: pathlib.Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `command` with its output going to `log`, in a session of its own (a Ctrl-C reaches us, not it),
    told to stop (SIGTERM) when we die, however we die: a harness killed by a timeout once left servers
    deciding in the background for an hour, skewing every benchmark after it."""
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=_stop_when_parent_dies)


def _stop_when_parent_dies() -> None:
    """In the child, before it runs the command: Linux sends it SIGTERM when its parent dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the harness's own `finally` is all there is
        pass


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    target: str  # host:port
    log: pathlib.Path

    def wait_for_line(self, pattern: str) -> re.Match:
        """The first match of `pattern` in the server's output; raises RuntimeError if it exits or takes too long."""
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text(errors="replace"))
            if found:
                return found
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready within {_START_TIMEOUT:.0f} s:\n{self.output()}")

    def output(self, last: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-last:]

    @property
    def port(self) -> int:
        return int(self.target.rsplit(":", 1)[1])

    def pids(self) -> list[int]:
        """The server's process and all its descendants."""
        return [self.process.pid, *_descendants(self.process.pid)]

    def rss_mb(self) -> float:
        """Resident memory of the server's processes together, in MB."""
        return sum(_rss_kb(pid) for pid in self.pids()) / 1024

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server's processes used so far."""
        return sum(_cpu_seconds(pid) for pid in self.pids())

    def connections(self) -> list[int]:
        """Established client connections held by each process that holds any (a worker each), largest first."""
        established = _established_inodes(self.port)
        counts = [len(_socket_inodes(pid) & established) for pid in self.pids()]
        return sorted((c for c in counts if c), reverse=True)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped within 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def discretion_command() -> list[str]:
    """`discretion` from the environment running this script."""
    beside = pathlib.Path(sys.executable).parent / "discretion"
    return [str(beside if beside.exists() else shutil.which("discretion") or "discretion")]


def discretion_has_workers() -> bool:
    shown = subprocess.run([*discretion_command(), "serve", "--help"], capture_output=True, text=True)
    return "--workers" in shown.stdout + shown.stderr


def start_discretion(rules: pathlib.Path, folder: pathlib.Path, workers: int | None = None,
                     engine: str | None = None) -> tuple[Server, int]:
    """`discretion serve` on a free loopback port with its default workers; the server and its worker count.

    The metrics page stays on, as it is by default, on a free port. `engine`: `--engine`, if given.
    """
    command = [*discretion_command(), "serve", "--rules", str(rules), "--address", "127.0.0.1:0",
               "--metrics-address", "127.0.0.1:0"]
    if workers is not None:
        command += ["--workers", str(workers)]
    if engine is not None:
        command += ["--engine", engine]
    log = folder / "discretion.log"
    server = Server("Discretion", start_process(command, log), "", log)
    ready = server.wait_for_line(r"discretion: serving on (\S+)(?: \((\d+) workers\))?")
    server.target = ready.group(1)
    return server, int(ready.group(2) or 1)


def start_floor(folder: pathlib.Path, check_answer: bytes, batch_answer: bytes, workers: int) -> Server:
    """floor_server.py with `workers` processes, answering every call with these bytes."""
    (folder / "check.answer").write_bytes(check_answer)
    (folder / "batch.answer").write_bytes(batch_answer)
    command = [sys.executable, str(pathlib.Path(__file__).with_name("floor_server.py")),
               "--check-answer", str(folder / "check.answer"), "--batch-answer", str(folder / "batch.answer"),
               "--workers", str(workers)]
    log = folder / "floor.log"
    server = Server("floor", start_process(command, log), "", log)
    server.target = server.wait_for_line(r"floor: serving on (\S+)").group(1)
    return server


# ---- /proc --------------------------------------------------------------------------

def machine_busy_seconds() -> float:
    """CPU time all cores spent busy so far (everything but idle and I/O wait), whoever used it."""
    fields = [int(v) for v in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / _TICKS


def wait_until_quiet(cores: float = 0.3, at_most: float = 10.0, sample: float = 0.5) -> float:
    """Wait until the machine uses fewer than `cores` for `sample` seconds, or `at_most` passed; seconds waited.

    Other work on a shared machine would otherwise land inside one system's
    window and not the other's.
    """
    started = time.monotonic()
    while time.monotonic() - started < at_most:
        before = machine_busy_seconds()
        time.sleep(sample)
        if (machine_busy_seconds() - before) / sample < cores:
            break
    return time.monotonic() - started


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): field 3 (state) is [0]."""
    text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _established_inodes(port: int) -> set[str]:
    """Inodes of established TCP sockets whose local port is `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = pathlib.Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes
