"""The decision log: one JSON line per decision, for audit; a line is out of the process before its answer is.

What a line holds is chosen so the log can be kept and shipped like any other
operational log without leaking what the group protects: ids, codes and
counts, never text. A line has the decision id, the time, the policy
revision, the group id, the action, the destination kind, the decision, the
agreements and rules that decided, the obligation types, the number of items
and the latency. It never has the quoted text, an item's text, a person's
name, handle or organization, a finding's message, or the reason (which may
quote the request).

Two halves, joined by a pipe:

- `DecisionLog`, in the process that decides, formats a call's lines and
  writes them into the pipe before the call is answered. Once written they
  belong to the kernel: a worker killed with SIGKILL a moment later has lost
  none of the decisions it gave out. The pipe is non-blocking, so logging
  never stalls a decision: when it is full the lines are dropped and counted
  (the relay fell behind its target by a whole pipe, about a megabyte).
- `LogRelay`, in the supervisor (or in a single server process, in a thread),
  reads every worker's pipe and copies whole lines to the log's target:
  standard output or a file. Lines of two workers never interleave, and a
  dead worker's pipe is read to its end.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import select
import threading
import uuid
from typing import Callable, Iterable, NamedTuple

from ..engine import model

__all__ = ["DecisionLog", "LogRelay", "log_record"]

log = logging.getLogger("discretion.server")

# A write of at most PIPE_BUF bytes to a pipe is whole or not at all, even
# non-blocking: lines are written in chunks of at most this size, so a full
# pipe drops whole lines and never leaves half of one.
_ATOMIC_WRITE = select.PIPE_BUF
_PIPE_SIZE = 1 << 20  # asked for; Linux grants up to /proc/sys/fs/pipe-max-size (1 MiB by default)
_READ_SIZE = 1 << 16
_POLL_SECONDS = 0.2  # the relay looks for new pipes and a stop this often


class Entry(NamedTuple):
    """One decision to log."""

    request: model.Request
    decision: model.Decision
    latency: float  # seconds from the call's arrival to this decision


def log_record(request: model.Request, decision: model.Decision, decided_at: float, latency: float) -> dict:
    """The line logged for one decision, as plain data. Adding a field here is a privacy review."""
    rules: list[str] = []
    for finding in decision.findings:
        rule = f"{finding.agreement}@{finding.version}/{finding.rule}"
        if rule not in rules:
            rules.append(rule)
    agreements: list[str] = []
    for item in decision.items:
        for governing in item.governed_by:
            if governing not in agreements:
                agreements.append(governing)
    obligations: list[str] = []
    for obligation in decision.obligations:
        if obligation.type not in obligations:
            obligations.append(obligation.type)
    return {
        "decision_id": uuid.uuid4().hex,
        "time": dt.datetime.fromtimestamp(decided_at, dt.timezone.utc).isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
        "policy_revision": decision.policy_revision,
        "group_id": request.group.id,
        "action": request.action,
        "destination_kind": request.destination.kind,
        "decision": decision.decision,
        "agreements": agreements,
        "rules": rules,
        "obligations": obligations,
        "items": len(request.items),
        "latency_us": round(latency * 1e6),
    }


def _line(entry: Entry, decided_at: float) -> bytes:
    return (json.dumps(log_record(entry.request, entry.decision, decided_at, entry.latency),
                       separators=(",", ":")) + "\n").encode()


def open_pipe() -> tuple[int, int]:
    """A pipe for decision-log lines, as large as the kernel allows: (read end, write end)."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    try:
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except OSError:  # a lower pipe-max-size: the default 64 KiB still holds a few hundred lines
        pass
    return read_fd, write_fd


class DecisionLog:
    """The deciding side: writes a call's lines into the pipe `fd` (which it owns and closes)."""

    def __init__(self, fd: int, *, on_drop: Callable[[int], None] | None = None):
        os.set_blocking(fd, False)
        self._fd = fd
        self._on_drop = on_drop
        # Chunks of one call are written together; another thread's chunks
        # must not come between them and a half-written long line.
        self._lock = threading.Lock()
        self._closed = False
        self.dropped = 0

    def record(self, entries: Iterable[Entry], decided_at: float) -> None:
        """Write these decisions' lines now; drop (and count) what a full pipe cannot take. Never blocks."""
        chunks: list[bytes] = []
        chunk = b""
        for entry in entries:
            line = _line(entry, decided_at)
            if chunk and len(chunk) + len(line) > _ATOMIC_WRITE:
                chunks.append(chunk)
                chunk = b""
            chunk += line
        if chunk:
            chunks.append(chunk)
        with self._lock:
            for index, chunk in enumerate(chunks):
                if self._closed or not self._write(chunk):
                    self._dropped(sum(c.count(b"\n") for c in chunks[index:]))
                    return

    def _write(self, chunk: bytes) -> bool:
        """Write one chunk whole; False if the pipe has no room for it (or is gone)."""
        view = memoryview(chunk)
        while view:
            try:
                written = os.write(self._fd, view)
            except InterruptedError:
                continue
            except BlockingIOError:
                if len(view) < len(chunk):
                    # Only a single line longer than PIPE_BUF can be cut: its
                    # end must follow, or the relay would join it to the next.
                    select.select([], [self._fd], [], _POLL_SECONDS)
                    continue
                return False
            except OSError:  # the relay is gone: nothing can be logged any more
                return False
            view = view[written:]
        return True

    def _dropped(self, lines: int) -> None:
        self.dropped += lines
        if self._on_drop:
            self._on_drop(lines)

    def close(self) -> None:
        """Close the pipe: the relay reads what is in it, then sees its end."""
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)


class LogRelay:
    """The writing side: copies whole lines from each followed pipe to the log's target.

    `target` is `-` for standard output or a file to append to. One thread
    reads every pipe; a pipe is followed until its write end is closed (by a
    clean stop or a process's death) and it has been read to the end.
    """

    def __init__(self, target: str):
        if target == "-":
            self._target, self._owns_target = 1, False
        else:
            try:
                self._target = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            except OSError as error:
                raise OSError(f"cannot open the decision log `{target}`: {error.strerror}") from error
            self._owns_target = True
        self._lock = threading.Lock()
        self._pipes: dict[int, bytes] = {}  # read end -> the start of a line whose end has not come yet
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._copy, name="decision-log-relay", daemon=True)
        self._thread.start()

    def pipe(self) -> int:
        """A new pipe to follow; its write end, for one deciding process (close every other copy of it)."""
        read_fd, write_fd = open_pipe()
        with self._lock:
            self._pipes[read_fd] = b""
        return write_fd

    def close(self, timeout: float | None = None) -> None:
        """Copy what is left once every write end is closed (waiting up to `timeout`), then stop."""
        self._stopping.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            # A write end is still open somewhere (a process that would not
            # die): leave the thread to it rather than close what it reads.
            log.error("decision log: a pipe was still open after %ss; its last lines may be lost", timeout)
            return
        if self._owns_target:
            os.close(self._target)

    def _copy(self) -> None:
        while True:
            with self._lock:
                pipes = list(self._pipes)
            if not pipes and self._stopping.is_set():
                return
            if not pipes:
                self._stopping.wait(_POLL_SECONDS)
                continue
            readable, _, _ = select.select(pipes, [], [], _POLL_SECONDS)
            for read_fd in readable:
                self._read(read_fd)

    def _read(self, read_fd: int) -> None:
        try:
            data = os.read(read_fd, _READ_SIZE)
        except OSError:
            data = b""
        with self._lock:
            if not data:
                self._finish(read_fd)
                return
            data = self._pipes[read_fd] + data
            end = data.rfind(b"\n") + 1
            self._pipes[read_fd] = data[end:]
        if end:
            _write(self._target, data[:end])

    def _finish(self, read_fd: int) -> None:
        """Stop following a pipe at its end (lock held)."""
        partial = self._pipes.pop(read_fd)
        if partial:
            log.error("decision log: dropped the start of a line (%d bytes) its process died writing", len(partial))
        os.close(read_fd)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError as error:
            # A full disk or a closed standard output must not kill the relay
            # (and with it every pipe's reader): say it, and go on reading.
            log.error("decision log: cannot write %d bytes: %s", len(view), error)
            return
        view = view[written:]
