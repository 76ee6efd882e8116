"""The decision log: one JSON line per decision, for audit; a line is out of the process before its answer is.

What a line holds is chosen so the log can be kept and shipped like any other
operational log without leaking what the group protects: ids, codes and
counts, never text. A line has the decision id (the one the response
carries), the time, the policy revision, the group id, the action, the
destination kind, the decision, the agreements and rules that decided and
the findings' reason codes (a refusal of the engine's own has a code and no
rule), the obligation types, the number of items and the latency; and, when
the caller sent them, its `x-request-id`, its W3C trace and span ids (the
call's own span's, while tracing records one: `tracing.correlated`) and the
check's `request_context` (`correlation`). It never has the quoted text, an
item's text, a person's name, handle or organization, a finding's message, or
the reason (which may quote the request).

Two halves, joined by a pipe:

- `DecisionLog`, in the process that decides, formats a call's lines and
  writes them into the pipe before the call is answered. Once written they
  belong to the kernel: a worker killed with SIGKILL a moment later has lost
  none of the decisions it gave out, since the pipe's reader is its
  supervisor. The pipe is non-blocking, so logging never stalls a decision:
  when it is full the lines are dropped and counted (the relay fell behind
  its target by a whole pipe, about a megabyte).
- `LogRelay`, in the supervisor, reads every worker's pipe and copies whole
  lines to the log's target: standard output or a file. Lines of two workers
  never interleave, and a dead worker's pipe is read to its end. A single
  server process (`--workers 1`) runs the relay as a thread of its own, so
  there SIGKILL loses what is still in the pipe: the guarantee needs workers.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import select
import threading
import time
from typing import Callable, Iterable, NamedTuple

from ..engine import model
from ..engine.instants import to_iso
from ..events import event
from .correlation import Call
from .summary import Summary

__all__ = ["DecisionLog", "Entry", "LogRelay", "hashed_id", "log_record", "open_pipe"]

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

    summary: Summary
    latency: float  # seconds from the call's arrival to this decision
    decision_id: str = ""  # the response's (`correlation.decision_ids`); "" draws a new one
    context: tuple[tuple[str, str], ...] = ()  # the check's request_context, sorted by key


def log_record(request: model.Request, decision: model.Decision, decided_at: model.Instant, latency: float,
               id_key: bytes | None = None) -> dict:
    """The line logged for one decision, as plain data. Adding a field here is a privacy review."""
    return _record(Entry(Summary.of(request, decision), latency), _time_text(decided_at), Call(), id_key)


def hashed_id(key: bytes, value: str) -> str:
    """An id as logged under `--decision-log-hash-ids`: HMAC-SHA256 with the key, in hex.

    The same id always logs the same, so lines still correlate; without the
    key nobody can tell which group it was, or try likely ids to find out (a
    platform's group ids may embed people's names). A new key starts new ids.
    """
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _time_text(decided_at: model.Instant) -> str:
    # Microseconds, always six digits: lines sorted as text are in time order.
    return to_iso(decided_at, digits=6)


def _record(entry: Entry, time_text: str, call: Call, id_key: bytes | None = None) -> dict:
    summary = entry.summary
    obligations: list[str] = []
    for obligation in summary.obligations:
        if obligation not in obligations:
            obligations.append(obligation)
    record = {
        # 128 random bits: unique without coordination between workers, and
        # a fifth of the cost of a uuid4 object on the request path.
        "decision_id": entry.decision_id or os.urandom(16).hex(),
        "time": time_text,
        "policy_revision": summary.policy_revision,
        "group_id": summary.group_id if id_key is None else hashed_id(id_key, summary.group_id),
        "action": summary.action,
        "destination_kind": summary.destination_kind,
        "decision": summary.decision,
        "agreements": list(summary.agreements),
        "rules": list(summary.rules),
        "reason_codes": list(summary.reason_codes),
        "obligations": obligations,
        "items": summary.items,
        "latency_us": round(entry.latency * 1e6),
    }
    # The caller's correlation facts, only when it sent them.
    if call.request_id:
        record["request_id"] = call.request_id
    if call.trace_id:
        record["trace_id"], record["span_id"] = call.trace_id, call.span_id
    if entry.context:
        # Keys name the caller's own fields; values may name its users or jobs, so they hash like ids.
        record["request_context"] = {
            key: value if id_key is None else hashed_id(id_key, value) for key, value in entry.context}
    return record


def _lines(entries: Iterable[Entry], decided_at: model.Instant, call: Call,
           id_key: bytes | None = None) -> list[bytes]:
    time_text = _time_text(decided_at)  # one call, one instant
    return [(json.dumps(_record(e, time_text, call, id_key), separators=(",", ":"))
             + "\n").encode() for e in entries]


def _open_target(path: str) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError as error:
        raise OSError(f"cannot open the decision log `{path}`: {error.strerror}") from error


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

    def __init__(self, fd: int, *, on_drop: Callable[[int], None] | None = None, id_key: bytes | None = None):
        os.set_blocking(fd, False)
        self._fd = fd
        self._id_key = id_key  # given: ids are logged as HMAC-SHA256 with it (`hashed_id`)
        self._on_drop = on_drop
        # One call's chunks go in together, never between another thread's.
        self._lock = threading.Lock()
        # The rest of a line longer than PIPE_BUF that a nearly full pipe
        # took only part of: it must be finished before anything else is
        # written, or the relay would join it to the next line. It is
        # finished by the next call, or by close(); nothing waits for room.
        self._carry = b""
        self._closed = False
        self.dropped = 0

    def record(self, entries: Iterable[Entry], decided_at: model.Instant, call: Call = Call()) -> None:
        """Write these decisions' lines now; drop (and count) what a full pipe cannot take. Never blocks.

        `call`: what the caller said of the call (`correlation.call_of`), on each of its lines."""
        chunks = _chunks(_lines(entries, decided_at, call, self._id_key))
        with self._lock:
            if self._closed or (self._carry and not self._write_carry()):
                self._dropped(chunks)
                return
            for index, chunk in enumerate(chunks):
                written = self._write(chunk)
                if written < len(chunk):
                    if written:  # only a chunk of one long line can be cut: keep its rest
                        self._carry = chunk[written:]
                        index += 1
                    self._dropped(chunks[index:])
                    return

    def close(self, timeout: float = 1.0) -> None:
        """Close the pipe (the relay reads what is in it, then sees its end); finish a cut line first."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            deadline = time.monotonic() + timeout
            while self._carry and not self._write_carry() and time.monotonic() < deadline:
                select.select([], [self._fd], [], _POLL_SECONDS)
            if self._carry:  # the relay never made room: that line is lost
                self._carry = b""
                self._dropped([b"\n"])
            os.close(self._fd)

    def _write_carry(self) -> bool:
        written = self._write(self._carry)
        self._carry = self._carry[written:]
        return not self._carry

    def _write(self, data: bytes) -> int:
        """Bytes of `data` the pipe took: all, none (no room, or the relay is gone), or part of a long line."""
        while True:
            try:
                return os.write(self._fd, data)
            except InterruptedError:
                continue
            except OSError:  # BlockingIOError: no room; BrokenPipeError: nothing reads any more
                return 0

    def _dropped(self, chunks: list[bytes]) -> None:
        lines = sum(chunk.count(b"\n") for chunk in chunks)
        if not lines:
            return
        self.dropped += lines
        if self._on_drop:
            self._on_drop(lines)


def _chunks(lines: list[bytes]) -> list[bytes]:
    """Whole lines joined into chunks of at most PIPE_BUF; a longer line is a chunk alone."""
    chunks: list[bytes] = []
    chunk = b""
    for line in lines:
        if chunk and len(chunk) + len(line) > _ATOMIC_WRITE:
            chunks.append(chunk)
            chunk = b""
        chunk += line
    if chunk:
        chunks.append(chunk)
    return chunks


class LogRelay:
    """The writing side: copies whole lines from each followed pipe to the log's target.

    `target` is `-` for standard output or a file to append to, opened again
    by its name on `reopen()` (SIGHUP) so logrotate can move it. One thread
    reads every pipe; a pipe is followed until its write end is closed (by a
    clean stop or a process's death) and it has been read to the end.
    """

    def __init__(self, target: str):
        self._path = None if target == "-" else target
        self._target = 1 if self._path is None else _open_target(self._path)
        # Held while writing to the target, so reopen() never swaps it mid-write.
        self._target_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pipes: dict[int, bytes] = {}  # read end -> the start of a line whose end has not come yet
        self._cut = False  # a write to the target failed partway: the next one starts a new line
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._copy, name="decision-log-relay", daemon=True)
        self._thread.start()

    def pipe(self) -> int:
        """A new pipe to follow; its write end, for one deciding process (close every other copy of it)."""
        read_fd, write_fd = open_pipe()
        with self._lock:
            self._pipes[read_fd] = b""
        return write_fd

    def reopen(self) -> None:
        """Open the log file again by its name (on SIGHUP): after logrotate moved it, lines go to a new file.

        A file that cannot be opened keeps the old one in use, and says why.
        """
        if self._path is None:
            return
        try:
            target = _open_target(self._path)
        except OSError as error:
            log.error("%s; still writing to the file it had open", error,
                      extra=event("decision_log_not_reopened", file=str(self._path), error=str(error)))
            return
        with self._target_lock:
            self._target, old = target, self._target
        os.close(old)

    def close(self, timeout: float | None = None) -> None:
        """Copy what is left once every write end is closed (waiting up to `timeout`), then stop."""
        self._stopping.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            # A write end is still open somewhere (a process that would not
            # die): leave the thread to it rather than close what it reads.
            log.error("decision log: a pipe was still open after %ss; its last lines may be lost", timeout,
                      extra=event("decision_log_pipe_left_open", seconds=timeout))
            return
        if self._path is not None:
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
            self._write(data[:end])

    def _finish(self, read_fd: int) -> None:
        """Stop following a pipe at its end (lock held)."""
        partial = self._pipes.pop(read_fd)
        if partial:
            log.error("decision log: dropped the start of a line (%d bytes) its process died writing", len(partial),
                      extra=event("decision_log_line_cut", bytes=len(partial)))
        os.close(read_fd)

    def _write(self, lines: bytes) -> None:
        """Append whole lines to the target (only the relay's thread writes there)."""
        with self._target_lock:
            self._write_locked(lines)

    def _write_locked(self, lines: bytes) -> None:
        data = b"\n" + lines if self._cut else lines
        view = memoryview(data)
        self._cut = False
        while view:
            try:
                written = os.write(self._target, view)
            except InterruptedError:
                continue
            except OSError as error:
                # A full disk or a closed standard output must not stop the
                # relay (and with it every pipe's reader): say it, go on.
                log.error("decision log: cannot write %d bytes: %s", len(view), error,
                          extra=event("decision_log_not_written", bytes=len(view), error=str(error)))
                self._cut = len(view) < len(data)  # part of a line is out: end it before the next
                return
            view = view[written:]
