"""The holder of the policy in force: build a new one to the side, swap only on success.

Each request reads `holder.serving` (or `holder.current`) once and uses that
snapshot to the end, so a reload never changes the rules under a decision in
progress. A broken change leaves the last good policy serving and is recorded
in `status()`.

Beside the Python `CompiledPolicy`, each revision is built into the native
engine (`discretion_native.Engine`) from the same compiled form, serialized
once per reload. A compiled form the native engine refuses is logged and that
revision served by the Python evaluator: the native engine never fails a reload.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import gc
import logging
import pathlib
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .files import find_rule_files, lower_directory
from .watch import Watched
from ..engine.build import build_policy
from ..engine.compiled import CompiledPolicy
from ..errors import Diagnostic, PolicyError
from ..events import event
from ..escape import terminal
from .. import ir
from ..pace import paced

log = logging.getLogger("discretion.store")


@dataclass(frozen=True, slots=True)
class PolicyStatus:
    revision: str  # "" before the first good load
    loaded_at: float | None  # the wall clock's seconds (`time.time()`), as metrics want them
    last_error: tuple[Diagnostic, ...]  # empty when the last attempt succeeded
    last_attempt_at: float | None
    took: float | None = None  # seconds the last attempt took, succeeded or not
    engine: str = ""  # what decides the revision serving: "native" or "reference"; "" before the first good load


@dataclass(frozen=True, slots=True)
class Serving:
    """One revision as it is served: read once per call, swapped whole."""

    policy: CompiledPolicy  # the reference: it lists, explains, and decides where `engine` is None
    engine: Any | None  # discretion_native.Engine of the same compiled form; None: the reference decides


class PolicyHolder:
    def __init__(
        self,
        rules_dir: pathlib.Path | str,
        *,
        clock: Callable[[], float] = time.time,
        on_reload: Callable[[bool, PolicyStatus], None] | None = None,
        turns: pathlib.Path | str | None = None,
        native: bool = True,
        reports: bool = True,
    ):
        """`turns`: a file the holders of several processes (a server's workers) lock to reload one at a time;
        `native`: build each revision into the native engine too (`--engine native`); `reports` False logs
        reloads at debug level (a server's other workers, whose worker 0 reports the same event)."""
        self._native = native
        self._report = (lambda level: level) if reports else (lambda level: logging.DEBUG)
        self.rules_dir = pathlib.Path(rules_dir)
        self._turns = pathlib.Path(turns) if turns else None
        self._calls = 0  # calls being answered with the policy (`answering`)
        self._calls_lock = threading.Lock()
        self._clock = clock
        self._on_reload = on_reload
        self._lock = threading.Lock()  # one reload at a time; readers never wait
        self._serving: Serving | None = None
        self._status = PolicyStatus("", None, (), None)
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def current(self) -> CompiledPolicy | None:
        serving = self._serving
        return None if serving is None else serving.policy

    @property
    def serving(self) -> Serving | None:
        return self._serving

    def status(self) -> PolicyStatus:
        return self._status

    def reload(self) -> bool:
        """Compile the rules directory; swap it in only if it compiled. True on success."""
        with self._lock:
            now = self._clock()
            started = time.perf_counter()
            try:
                with self._turn(), _beside_requests(), paced(self._giving_way()):
                    started = time.perf_counter()  # the compiling, not the wait for this worker's turn
                    compiled = lower_directory(self.rules_dir)
                    policy = build_policy(compiled)
                    engine = _native_engine(compiled, self._report(logging.WARNING)) if self._native else None
            except PolicyError as error:
                took = time.perf_counter() - started
                self._status = PolicyStatus(
                    self._status.revision, self._status.loaded_at, error.diagnostics, now, took, self._status.engine
                )
                log.log(
                    self._report(logging.ERROR),
                    "rules in %s not loaded, still serving revision %s (the attempt took %.2f s):\n%s",
                    terminal(str(self.rules_dir)),
                    self._status.revision or "(none)",
                    took,
                    "\n".join(_logged(d) for d in error.errors),
                    extra=event("rules_not_loaded", rules=str(self.rules_dir), serving=self._status.revision,
                                seconds=round(took, 3), diagnostics=[_fields(d) for d in error.errors]),
                )
                ok = False
            except Exception as error:  # noqa: BLE001 - whatever a file does, the last good rules keep serving
                # A fault of the loader's own, not a diagnostic it could give: said
                # as such, and the watcher lives on to try the next change.
                said = f"the rules could not be loaded: {type(error).__name__}: {error}"
                failure = Diagnostic("load_failed", said[:500], str(self.rules_dir))
                self._status = PolicyStatus(self._status.revision, self._status.loaded_at, (failure,), now,
                                            time.perf_counter() - started, self._status.engine)
                log.log(self._report(logging.ERROR), "rules in %s not loaded, still serving revision %s: the loader failed",
                        terminal(str(self.rules_dir)), self._status.revision or "(none)", exc_info=True,
                        extra=event("rules_not_loaded", rules=str(self.rules_dir), serving=self._status.revision,
                                    diagnostics=[_fields(failure)]))
                ok = False
            else:
                self._serving = Serving(policy, engine)  # the one reference swap readers see
                # The policy lives until the next reload: out of the collector's
                # sight, so its full collections stay as short as before the load.
                gc.freeze()
                took = time.perf_counter() - started
                decider = "reference" if engine is None else "native"
                self._status = PolicyStatus(policy.revision, now, (), now, took, decider)
                log.log(self._report(logging.INFO), "rules loaded from %s, revision %s, decided by the %s engine (%.2f s)",
                        terminal(str(self.rules_dir)), policy.revision, decider, took,
                        extra=event("rules_loaded", rules=str(self.rules_dir), revision=policy.revision,
                                    engine=decider, seconds=round(took, 3)))
                ok = True
        if self._on_reload:
            self._on_reload(ok, self._status)
        return ok

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around each call answered with the policy: a reload meanwhile gives way to it (`_giving_way`)."""
        with self._calls_lock:
            self._calls += 1
        try:
            yield
        finally:
            with self._calls_lock:
                self._calls -= 1

    def _giving_way(self) -> Callable[[], None]:
        """A pacer for a reload: at each step, while calls are being answered, sleep so they have the interpreter.

        A call waits at most one step (a rule, or 512 YAML events: well under a
        millisecond) before it runs alone. A reload never yields more than four
        times the time it has worked, so under unbroken traffic it still ends,
        five times slower at most.
        """
        worked, yielded = 0.0, 0.0
        mark = time.perf_counter()

        def give_way() -> None:
            nonlocal worked, yielded, mark
            now = time.perf_counter()
            worked += now - mark
            while self._calls and yielded < 4 * worked:
                time.sleep(0.0002)
                later = time.perf_counter()
                yielded += later - now
                now = later
            mark = time.perf_counter()

        return give_way

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """Wait for this process's turn to compile, when the workers take turns.

        Every worker sees a change within the same second; compiling at once,
        they would take every core from the requests for the whole reload.
        One at a time, the others answer at full speed meanwhile. The kernel
        releases the lock of a worker that dies holding it.
        """
        if self._turns is None:
            yield
            return
        with open(self._turns, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # ---- watching -----------------------------------------------------------

    def start_watching(self, interval: float = 1.0, settle: float = 0.2) -> None:
        """Poll the rules directory and reload when its files change.

        Polling the resolved paths, sizes and mtimes sees every way files
        change, including the atomic `..data` symlink swap of a Kubernetes
        ConfigMap, which inotify-based watchers easily miss. A change is
        reloaded once it has been quiet for `settle` seconds (debounce).
        """
        if self._watcher:
            return
        self._stop.clear()
        self._watcher = threading.Thread(
            target=self._watch, args=(interval, settle), name="rules-watcher", daemon=True
        )
        self._watcher.start()

    def stop_watching(self) -> None:
        self._stop.set()
        if self._watcher:
            self._watcher.join(timeout=5)
            self._watcher = None

    def _watch(self, interval: float, settle: float) -> None:
        files = Watched(lambda: find_rule_files(self.rules_dir))
        while not self._stop.wait(interval):
            if not files.changed():
                continue
            # Debounce: wait until the files stop changing before compiling.
            while not self._stop.wait(settle) and files.changed():
                pass
            self.reload()


def _native_engine(compiled: ir.Policy, level: int = logging.WARNING) -> Any | None:
    """The native engine of this compiled form, or None (said in the log) where it cannot serve it.

    A compiled form it refuses (a pattern it cannot match as the reference
    does, say) is served by the Python evaluator: slower, never wrong, and
    never a failed reload.
    """
    try:
        import discretion_native
    except ImportError as error:
        log.log(level, "the native engine is not installed (%s): the Python evaluator decides", error,
                extra=event("native_engine_missing", error=str(error)))
        return None
    try:
        return discretion_native.Engine(compiled.SerializeToString())
    except ValueError as error:
        log.log(level, "the native engine cannot serve revision %s (%s): the Python evaluator decides it",
                compiled.revision, terminal(str(error)),
                extra=event("native_engine_declined", revision=compiled.revision, error=str(error)))
        return None


def _fields(diagnostic: Diagnostic) -> dict:
    """A diagnostic as a JSON log line's fields carry it (JSON escapes what `_logged` must escape by hand)."""
    return {"file": diagnostic.file, "line": diagnostic.line, "column": diagnostic.column, "rule": diagnostic.rule,
            "code": diagnostic.code, "message": diagnostic.message}


def _logged(diagnostic: Diagnostic) -> str:
    """A diagnostic for the log: its text escaped, so a file's name or an author's value
    can neither forge log lines nor rewrite the operator's terminal; the help on a line of its own."""
    head = terminal(dataclasses.replace(diagnostic, help="").render())
    return f"{head}\n  help: {terminal(diagnostic.help)}" if diagnostic.help else head


class _BesideRequests:
    """Compile without taking the interpreter from the requests being served meanwhile.

    A reload runs on a thread of a worker that keeps answering. Compiling
    10,000 rules is a second of Python: with the default switch interval a
    request waits up to 5 ms each time it needs the interpreter back, and the
    objects the compiler allocates set off full collections of the worker's
    heap, 10–40 ms each with the interpreter held. So while any reload runs,
    the interpreter switches every 0.5 ms and cyclic collection waits; the
    compiled policy is acyclic (reference counting frees the one it replaces),
    and `gc.freeze()` after the swap keeps it out of later full collections.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0  # reloads in progress in this process: the first in saves, the last out restores
        self._saved = (sys.getswitchinterval(), True)

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
            if self._running == 1:
                self._saved = (sys.getswitchinterval(), gc.isenabled())
                sys.setswitchinterval(min(self._saved[0], 0.0001))
                gc.disable()
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    sys.setswitchinterval(self._saved[0])
                    if self._saved[1]:
                        gc.enable()


_beside_requests = _BesideRequests()
