"""Several worker processes serving one port, and the supervisor that keeps them.

One Python process decides on one core at a time, so `discretion serve
--workers N` starts N worker processes that each run the whole server
(`app.serve`) on the same port with SO_REUSEPORT: the kernel spreads new
connections over them. The supervisor

- reserves the ports first (a bound, never listening socket), so port 0
  resolves to one port every worker and every restarted worker shares, and
  nothing else takes it between restarts;
- starts each worker as a fresh interpreter (multiprocessing's `spawn`: gRPC
  does not survive a fork), and announces the ports once every worker is up;
- serves the metrics page, aggregating the workers' values from files under
  PROMETHEUS_MULTIPROC_DIR (cleaned at start; a dead worker's gauges dropped);
- restarts a worker that dies, after a back-off when one keeps dying young;
- relays the decision log: each worker writes its lines into a pipe of its
  own before it answers, and the supervisor copies them to the log's target,
  so a worker that is killed has lost none of the decisions it gave out;
- forwards SIGHUP (reload) to the workers, and reopens the decision log's
  file on it (after logrotate moved it); on SIGTERM or SIGINT tells
  every worker to stop gracefully and waits for them: each finishes its calls
  in flight, then the supervisor copies the last lines and exits 0.

A worker stops by itself if the supervisor disappears (a pipe between them
closes), so a killed supervisor leaves no process holding the port.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import os
import pathlib
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import TextIO

from prometheus_client import multiprocess
from prometheus_client.core import CounterMetricFamily

from .app import serve
from .config import Ready, ServerSettings
from ..events import event
from .shell import Signals, announce, counting_signals, logging_to, said
from .decision_log import LogRelay
from .metrics import multiprocess_registry, serve_metrics

__all__ = ["available_cpus", "supervise"]

log = logging.getLogger("discretion.server")

_POLL_SECONDS = 0.2  # the main thread wakes this often so signal handlers run
_START_TIMEOUT = 60.0  # seconds a worker may take to bind and load the rules
_YOUNG = 10.0  # a worker that dies sooner than this after starting is restarted after a back-off
_MAX_BACKOFF = 30.0
_RELAY_TIMEOUT = 10.0  # seconds to copy the decision-log lines left in stopped workers' pipes


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (a container's limit)."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    try:
        quota, period = pathlib.Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            count = min(count, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, count)


def supervise(settings: ServerSettings, workers: int, *, stderr: TextIO | None = None) -> int:
    """Run `workers` worker processes until SIGTERM or SIGINT; 0 after all stopped gracefully."""
    stderr = stderr or sys.stderr
    metrics_dir, owned = _metrics_dir()
    try:
        with logging_to(stderr, settings.log_format, settings.log_level, "supervisor"):
            return _Supervisor(settings, workers, stderr, metrics_dir).run()
    finally:
        if owned:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def _metrics_dir() -> tuple[str, bool]:
    """PROMETHEUS_MULTIPROC_DIR emptied, or a new one; and whether we made it (and so remove it)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = pathlib.Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # values of an earlier run would be added to ours
            stale.unlink()
        return given, False
    made = tempfile.mkdtemp(prefix="discretion-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made  # workers inherit it before they import prometheus_client
    return made, True


class _Worker:
    """One slot: the process serving it now and how it has fared."""

    def __init__(self, slot: int):
        self.slot = slot
        self.process: multiprocessing.process.BaseProcess | None = None
        self.pipe: Connection | None = None  # our end; its closing tells the worker we are gone
        self.started_at = 0.0
        self.ready = False  # it said it serves (and so has calls to finish when told to stop)
        self.young_deaths = 0
        self.restart_at = 0.0


class _Restarts:
    """`discretion_worker_restarts_total`, counted by the supervisor itself."""

    def __init__(self) -> None:
        self.count = 0

    def collect(self):
        yield CounterMetricFamily("discretion_worker_restarts", "Worker processes restarted after dying.",
                                  value=self.count)


class _Supervisor:
    def __init__(self, settings: ServerSettings, workers: int, stderr: TextIO, metrics_dir: str):
        self.settings = settings
        self.stderr = stderr
        self.metrics_dir = metrics_dir
        self.workers = [_Worker(slot) for slot in range(workers)]
        self.context = multiprocessing.get_context("spawn")
        # Counted by the signal handlers, acted on by the main thread (shell.Signals).
        self.signals = Signals()
        self.restarts = _Restarts()
        self.relay: LogRelay | None = None  # copies the workers' decision-log lines, when there is a log

    # ---- lifecycle ----------------------------------------------------------------

    def run(self) -> int:
        with counting_signals((signal.SIGTERM, signal.SIGINT)) as self.signals:
            return self._run()

    def _run(self) -> int:
        reserved: list[socket.socket] = []
        httpd = None
        try:
            try:
                worker_settings = self._reserve_ports(reserved)
                if self.settings.decision_log:
                    self.relay = LogRelay(self.settings.decision_log)
            except OSError as error:
                said("%s", error, event_name="cannot_start", level=logging.ERROR, error=str(error))
                return 2
            self.worker_settings = worker_settings
            metrics_port = 0
            if self.settings.metrics_address:
                try:
                    registry = multiprocess_registry(self.metrics_dir, self.restarts)
                    httpd, metrics_port = serve_metrics(self.settings.metrics_address, registry)
                except OSError as error:
                    log.error("cannot serve metrics on %s (%s): serving decisions without metrics",
                              self.settings.metrics_address, error,
                              extra=event("metrics_unavailable", address=self.settings.metrics_address,
                                          error=str(error)))
            for worker in self.workers:
                self._start(worker)
            ready = self._wait_until_ready()
            if ready is None:
                self._stop_all()
                return 0 if self.signals.stops else 2
            announce(self.settings, dataclasses.replace(ready, metrics_port=metrics_port), self.stderr,
                     workers=len(self.workers))
            self._keep_running()
            return self._stop_all()
        finally:
            if httpd is not None:
                httpd.shutdown()
                httpd.server_close()
            for sock in reserved:
                sock.close()
            if self.relay is not None:  # after every worker stopped: their pipes are read to the end
                self.relay.close(timeout=_RELAY_TIMEOUT)

    def _reserve_ports(self, reserved: list[socket.socket]) -> ServerSettings:
        """Bind the ports the workers will share; the settings each worker gets."""
        address, port = _reserve(self.settings.address, reserved)
        # The metrics folder is this run's own: the workers' lock for taking turns to reload lives there too.
        changes: dict[str, object] = {"address": f"{address}:{port}", "reuse_port": True, "metrics_address": None,
                                      "reload_turns": os.path.join(self.metrics_dir, "reload.lock")}
        if self.settings.health_address:
            health, health_port = _reserve(self.settings.health_address, reserved)
            changes["health_address"] = f"{health}:{health_port}"
        if self.settings.http_address:
            http, http_port = _reserve(self.settings.http_address, reserved)
            changes["http_address"] = f"{http}:{http_port}"
        return dataclasses.replace(self.settings, **changes)

    # ---- workers ------------------------------------------------------------------

    def _start(self, worker: _Worker) -> None:
        ours, theirs = self.context.Pipe()
        # The write end of the worker's decision-log pipe, as a Connection
        # only so multiprocessing hands the descriptor to the new process.
        log_pipe = Connection(self.relay.pipe(), readable=False) if self.relay is not None else None
        process = self.context.Process(target=_work, args=(self.worker_settings, theirs, log_pipe, worker.slot),
                                       name=f"discretion-worker-{worker.slot}")
        process.start()
        theirs.close()  # only the worker holds its end now: our death closes the pipe for it
        if log_pipe is not None:
            log_pipe.close()  # and its log pipe: the relay sees the end of it when the worker is gone
        worker.process, worker.pipe, worker.started_at = process, ours, time.monotonic()
        worker.ready = False

    def _wait_until_ready(self) -> Ready | None:
        """The ports the first workers bound, once all of them are up; None if one failed or a stop came."""
        ready: Ready | None = None
        deadline = time.monotonic() + _START_TIMEOUT
        waiting = {w.pipe: w for w in self.workers}
        while waiting and not self.signals.stops:
            if time.monotonic() > deadline:
                log.error("workers did not start within %ss", _START_TIMEOUT,
                          extra=event("workers_not_started", seconds=_START_TIMEOUT))
                return None
            for pipe in wait(list(waiting), timeout=_POLL_SECONDS):
                try:
                    ready = pipe.recv()
                except EOFError:  # died before binding (its error is already on stderr)
                    waiting[pipe].process.join()
                    return None
                waiting.pop(pipe).ready = True
        return None if self.signals.stops else ready

    def _keep_running(self) -> None:
        forwarded = 0
        looked = time.monotonic()
        tenants = self.settings.tenants
        while not self.signals.stops:
            if self.signals.hangups > forwarded:
                forwarded = self.signals.hangups
                self._forward(signal.SIGHUP)
                if self.relay is not None:
                    self.relay.reopen()  # after logrotate moved the file
            if tenants is not None and time.monotonic() - looked >= self.settings.watch_interval:
                # Followed here too, so a worker restarted later starts from
                # the last good tenants (it is handed our copy), not the first.
                looked = time.monotonic()
                tenants.refresh()
            sentinels = {w.process.sentinel: w for w in self.workers if w.process is not None}
            for sentinel in wait(list(sentinels), timeout=_POLL_SECONDS):
                if not self.signals.stops:
                    self._died(sentinels[sentinel])
            now = time.monotonic()
            for worker in self.workers:
                if worker.process is None and worker.restart_at <= now and not self.signals.stops:
                    self._start(worker)
                    self.restarts.count += 1
                    log.info("worker %d restarted as pid %d", worker.slot, worker.process.pid,
                             extra=event("worker_restarted", worker=worker.slot, pid=worker.process.pid))

    def _died(self, worker: _Worker) -> None:
        process = worker.process
        process.join()
        multiprocess.mark_process_dead(process.pid, self.metrics_dir)
        worker.pipe.close()
        lived = time.monotonic() - worker.started_at
        worker.young_deaths = worker.young_deaths + 1 if lived < _YOUNG else 0
        delay = min(_MAX_BACKOFF, 0.5 * 2 ** (worker.young_deaths - 1)) if worker.young_deaths else 0.0
        worker.process, worker.pipe, worker.restart_at = None, None, time.monotonic() + delay
        log.error("worker %d (pid %d) died with exit code %s; restarting it in %.1fs",
                  worker.slot, process.pid, process.exitcode, delay,
                  extra=event("worker_died", worker=worker.slot, pid=process.pid, exit_code=process.exitcode,
                              restart_in_seconds=delay))

    def _stop_all(self) -> int:
        """Ask every worker to stop gracefully and wait for them; 0 if each stopped cleanly.

        A worker still starting (restarted moments ago) has served nothing: it
        is stopped at once, as a stop signal during its imports would anyway.
        """
        for worker in self.workers:
            if worker.process is not None and not worker.ready and _said_ready(worker.pipe):
                worker.ready = True
        for worker in self.workers:
            if worker.process is not None and not worker.ready:
                worker.process.kill()
                worker.process.join()
                log.info("worker %d (pid %d) was still starting: stopped it", worker.slot, worker.process.pid,
                         extra=event("worker_stopped_starting", worker=worker.slot, pid=worker.process.pid))
        live = [w for w in self.workers if w.process is not None and w.ready and w.process.is_alive()]
        if self.signals.stops:
            log.info("stopping: %d workers finish their calls in flight", len(live),
                     extra=event("stopping", workers=len(live)))
        for worker in live:
            _signal(worker.process, signal.SIGTERM)
        asked = min(self.signals.stops, 1)  # a second request may already be in
        deadline = time.monotonic() + self.settings.grace + 15  # drain, then flush the decision log
        clean = True
        for worker in live:
            while worker.process.is_alive() and time.monotonic() < deadline:
                worker.process.join(_POLL_SECONDS)  # short waits, to see a second stop signal
                if self.signals.stops > asked:  # asked again: the workers stop at once too
                    asked = self.signals.stops
                    self._forward(signal.SIGTERM)
            if worker.process.is_alive():
                log.error("worker %d (pid %d) did not stop in time: killing it", worker.slot, worker.process.pid,
                          extra=event("worker_killed", worker=worker.slot, pid=worker.process.pid))
                worker.process.kill()
                worker.process.join()
            if worker.process.exitcode != 0:
                log.error("worker %d (pid %d) stopped with exit code %s", worker.slot, worker.process.pid,
                          worker.process.exitcode,
                          extra=event("worker_failed", worker=worker.slot, pid=worker.process.pid,
                                      exit_code=worker.process.exitcode))
                clean = False
        for worker in self.workers:
            if worker.pipe is not None:
                worker.pipe.close()
        if live:
            said("stopped", event_name="stopped")
        return 0 if clean else 1

    def _forward(self, signum: int) -> None:
        for worker in self.workers:
            if worker.process is not None:
                _signal(worker.process, signum)


def _said_ready(pipe: Connection) -> bool:
    """Whether a worker's Ready is waiting in its pipe (read, if so)."""
    try:
        if pipe.poll():
            pipe.recv()
            return True
    except (EOFError, OSError):  # it died: its sentinel tells the rest
        pass
    return False


def _signal(process: multiprocessing.process.BaseProcess, signum: int) -> None:
    try:
        os.kill(process.pid, signum)
    except (ProcessLookupError, TypeError):  # already gone, or never started
        pass


def _reserve(address: str, reserved: list[socket.socket]) -> tuple[str, int]:
    """Bind `address` with SO_REUSEPORT without listening; its host and the port bound.

    A port some other process already serves is refused first: sharing it
    with SO_REUSEPORT would silently split the traffic with that process.
    """
    host, _, port = address.rpartition(":")
    bare = host.strip("[]")
    try:
        family, kind, proto, _, where = socket.getaddrinfo(bare or None, int(port), type=socket.SOCK_STREAM,
                                                           flags=socket.AI_PASSIVE)[0]
        if int(port):
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # only a listener conflicts
                probe.bind(where)
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(where)
    except (OSError, ValueError) as error:
        raise OSError(f"cannot listen on `{address}`: {error}") from error
    reserved.append(sock)
    return host, sock.getsockname()[1]


# ---- in the worker process ------------------------------------------------------------


def _work(settings: ServerSettings, supervisor: Connection, log_pipe: Connection | None, slot: int) -> None:
    """A worker's whole life: serve until the supervisor says stop or goes away.

    Worker 0 reports what all workers would say alike (its reloads); the others say it at debug level."""
    # Ctrl-C reaches the whole process group; the supervisor alone decides
    # when workers stop, so one signal never counts twice here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until serve() handles it: a reload must not kill us
    stop = threading.Event()

    def on_ready(ready: Ready) -> None:
        supervisor.send(ready)
        threading.Thread(target=_watch_supervisor, args=(supervisor, stop), name="lifeline", daemon=True).start()

    decision_log_pipe = None
    if log_pipe is not None:  # the descriptor alone: the log owns and closes it
        decision_log_pipe = os.dup(log_pipe.fileno())
        log_pipe.close()
    code = serve(settings, stop=stop, on_ready=on_ready, stop_signals=(signal.SIGTERM,),
                 decision_log_pipe=decision_log_pipe, process=f"worker-{slot}", reports=slot == 0)
    # Everything is stopped, flushed and closed by now. Leave without the
    # interpreter's teardown, where grpc's own threads may still be winding
    # down and could turn a clean stop into a crash.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _watch_supervisor(supervisor: Connection, stop: threading.Event) -> None:
    try:
        supervisor.recv()  # the supervisor never sends: this returns when its end closes
    except (EOFError, OSError):
        pass
    stop.set()
