"""The decision log: one JSON line per decision, for audit, written off the request path.

What a line holds is chosen so the log can be kept and shipped like any other
operational log without leaking what the group protects: ids, codes and
counts, never text. A line has the decision id, the time, the policy
revision, the group id, the action, the destination kind, the decision, the
agreements and rules that decided, the obligation types, the number of items
and the latency. It never has the quoted text, an item's text, a person's
name, handle or organization, a finding's message, or the reason (which may
quote the request).

A request appends a reference to its (immutable) request and decision to a
bounded buffer and moves on; the writer thread formats and writes them. When
the buffer is full the record is dropped and counted, so logging never blocks
or slows a decision. `close()` writes everything queued before it returns.

Lines are written whole, in writes the kernel never interleaves with another
process's, so several worker processes can share the file or the pipe.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import select
import threading
import uuid
from typing import Callable, NamedTuple

from ..engine import model

__all__ = ["DecisionLog", "log_record", "open_target"]

DEFAULT_CAPACITY = 10_000  # records waiting to be written
DEFAULT_INTERVAL = 0.05  # seconds between the writer's rounds
# A write to a pipe of at most this many bytes is never interleaved with
# another process's (POSIX PIPE_BUF); writes to a file opened for appending
# are whole anyway. Whole lines are written in chunks of at most this size.
_ATOMIC_WRITE = select.PIPE_BUF


class _Pending(NamedTuple):
    request: model.Request
    decision: model.Decision
    decided_at: float  # Unix time the decision was made at
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


def open_target(target: str) -> tuple[int, bool]:
    """A file descriptor for `-` (standard output) or a path, and whether we own it."""
    if target == "-":
        return 1, False
    return os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640), True


class DecisionLog:
    """A bounded buffer of decisions and the thread that writes them to `fd`.

    The writer wakes every `interval` seconds and writes what accumulated in
    one go: waking it for each decision would cost the call a thread switch.
    """

    def __init__(self, fd: int, *, capacity: int = DEFAULT_CAPACITY, interval: float = DEFAULT_INTERVAL,
                 on_drop: Callable[[], None] | None = None, owns_fd: bool = False):
        self._fd = fd
        self._owns_fd = owns_fd
        self._capacity = capacity
        self._interval = interval
        self._on_drop = on_drop
        # deque.append and popleft are atomic: the request path takes no lock.
        self._pending: collections.deque[_Pending] = collections.deque()
        self._closing = threading.Event()
        self._closed = False
        self.dropped = 0
        self._writer = threading.Thread(target=self._write_all, name="decision-log", daemon=True)
        self._writer.start()

    def record(self, request: model.Request, decision: model.Decision, decided_at: float, latency: float) -> None:
        """Queue one decision for the log; never blocks."""
        # Checked without a lock, the capacity may be passed by a few records
        # when threads race: a bound on memory, not an exact count.
        if self._closed or len(self._pending) >= self._capacity:
            self.dropped += 1
            if self._on_drop:
                self._on_drop()
            return
        self._pending.append(_Pending(request, decision, decided_at, latency))

    def close(self, timeout: float | None = None) -> None:
        """Write every queued record, then stop the writer (and close a file we opened)."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._writer.join(timeout)
        if self._owns_fd:
            os.close(self._fd)

    def _write_all(self) -> None:
        while not self._closing.wait(self._interval):
            self._drain()
        self._drain()  # records queued before close() began

    def _drain(self) -> None:
        chunk: list[bytes] = []
        size = 0
        while self._pending:
            line = (json.dumps(log_record(*self._pending.popleft()), separators=(",", ":")) + "\n").encode()
            if chunk and size + len(line) > _ATOMIC_WRITE:
                _write(self._fd, b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            _write(self._fd, b"".join(chunk))


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return  # a closed pipe or a full disk must not kill the writer (and so hang close())
        view = view[written:]
