"""Over gRPC: Discretion and Cerbos 0.55 side by side, from separate load processes.

    .venv/bin/python benchmarks/grpc_bench.py [--quick] [--no-cerbos] [--engine native|reference] [--results FILE]

Starts `discretion serve` (its default workers) on the agreement in
policies/discretion/, and Cerbos, installed from npm into a temporary folder,
on the equivalent policy in policies/cerbos/; both on free loopback ports.
Both must decide the fixed 20-request mix (mix.py) as the policy reads, one
by one and in one batch, or nothing is timed. Then, for each repeat, the same
load (loadgen.py) goes to each system in turn, at batch 1 and batch 20, and
the table gives the median of the repeats and the ratio Discretion/Cerbos.
Three more rows:

- Discretion called through its Python client (discretion_client.AsyncClient
  with a pool of channels) rather than with pre-serialized bytes: what the
  client costs;
- the floor (floor_server.py): Python gRPC served as Discretion serves it,
  giving the same answers without deciding anything: the most any Python
  server can reach here;
- Discretion at batch 1 while its rules are rewritten every second.

Each run first waits for the machine to be quiet (10 s at most, 20 s in
all), and the table shows the CPU the rest of the machine used meanwhile:
on a shared machine, trust only runs where that stayed low.

`--no-cerbos` measures Discretion alone, offline. `--results FILE` also
writes the tables into FILE between its `<!-- results -->` markers.
Nothing here asserts a time: it measures and prints.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "service"), str(HERE)]

import grpc  # noqa: E402

import mix  # noqa: E402
from loadgen import Job, Measurement, run_load  # noqa: E402
from servers import (  # noqa: E402
    Server, discretion_has_workers, machine_busy_seconds, start_discretion, start_floor, wait_until_quiet,
)

DISCRETION_POLICY = HERE / "policies" / "discretion"
BATCHES = (1, 20)
DISCRETION, CERBOS = "Discretion", "Cerbos"
CLIENT = "Discretion via discretion_client"
FLOOR = "Python gRPC floor: same answers, nothing decided"
RELOADING = "Discretion, rules reloaded every 1 s"
BEGIN, END = "<!-- results -->", "<!-- /results -->"


@dataclass(frozen=True)
class Load:
    processes: int
    channels: int  # in all
    in_flight: int  # in all
    warmup: float
    window: float
    repeats: int
    quiet_budget: float  # seconds the runs may wait in all for the machine to be quiet


@dataclass
class Run:
    """One measurement of one system at one batch size."""

    load: Measurement
    batch: int
    server_cpu: float  # seconds in the window
    machine_cpu: float  # seconds the whole machine was busy in the window, every process included
    rss_mb: float
    connections: list[int]  # per server process

    @property
    def window(self) -> float:
        return self.load.window


@dataclass
class Cell:
    """The median of a system's runs at one batch size."""

    req_s: float
    decisions_s: float
    p50: float
    p95: float
    p99: float
    rss_mb: float
    cpu_us: float  # server CPU per decision, µs
    server_cores: float
    load_cores: float
    other_cores: float  # what the rest of the machine used meanwhile
    errors: int
    connections: str

    @classmethod
    def of(cls, runs: list[Run]) -> Cell:
        med = statistics.median
        return cls(
            req_s=med([r.load.rate() for r in runs]),
            decisions_s=med([r.load.rate() * r.batch for r in runs]),
            p50=med([r.load.percentile(0.50) for r in runs]),
            p95=med([r.load.percentile(0.95) for r in runs]),
            p99=med([r.load.percentile(0.99) for r in runs]),
            rss_mb=max(r.rss_mb for r in runs),
            cpu_us=med([r.server_cpu / max(1, r.load.calls * r.batch) * 1e6 for r in runs]),
            server_cores=med([r.server_cpu / r.window for r in runs]),
            load_cores=med([r.load.client_cpu / r.window for r in runs]),
            other_cores=med([max(0.0, r.machine_cpu - r.server_cpu - r.load.client_cpu) / r.window for r in runs]),
            errors=sum(r.load.errors for r in runs),
            connections=" ".join("+".join(map(str, r.connections)) for r in runs),
        )


# ---- before timing: the same answers ------------------------------------------------

def _call(target: str, method: str, payload: bytes) -> bytes:
    with grpc.insecure_channel(target) as channel:
        return channel.unary_unary(method)(payload, timeout=10, wait_for_ready=True)


def decisions_of(system: str, target: str, raw: dict[int, bytes]) -> dict[str, list[bool]]:
    """The system's allow/deny for the mix, asked one by one and as one batch; keeps an answer per batch in `raw`."""
    answers = {}
    for batch in BATCHES:
        if system == CERBOS:
            import cerbos_peer

            method, payloads = cerbos_peer.payloads(batch)
            read = cerbos_peer.allowed
        else:
            method, payloads = mix.discretion_payloads(batch)
            read = lambda answer, m=method: mix.discretion_allowed(m, answer)  # noqa: E731
        replies = [_call(target, method, p) for p in payloads]
        raw[batch] = replies[0]
        answers[f"{system}, batch {batch}"] = [ok for reply in replies for ok in read(reply)]
    if system == DISCRETION:
        import discretion_client as dc

        with dc.Client(target, timeout=10) as client:
            answers[f"{CLIENT}, batch 20"] = [d.decision == "allow" for d in client.check_batch(mix.client_requests())]
    return answers


def check_equivalence(answers: dict[str, list[bool]]) -> list[str]:
    """Every way of asking must give the decisions the policy reads; the differences, if any."""
    expected = [case.allowed for case in mix.MIX]
    problems = []
    for source, got in answers.items():
        for index, (want, have) in enumerate(zip(expected, got, strict=True)):
            if want != have:
                case = mix.MIX[index]
                problems.append(f"{source}: request {index} ({case.action} to {case.destination}, label {case.label}, "
                                f"attribution {case.attribution}, own {case.own}): "
                                f"{'allow' if have else 'deny'}, expected {'allow' if want else 'deny'}")
    return problems


# ---- measuring ----------------------------------------------------------------------

class Rewriter:
    """Rewrites a rule file every `every` seconds, changing its content, so each write is a new revision."""

    def __init__(self, path: pathlib.Path, every: float = 1.0):
        self.path, self.every = path, every
        self.original = path.read_text()
        self.writes = 0

    def until(self, end: float) -> None:
        """Rewrite every `every` seconds from now until `end` (monotonic seconds)."""
        due = time.monotonic() + self.every
        while due <= end:
            time.sleep(max(0.0, due - time.monotonic()))
            self.writes += 1
            self.path.write_text(self.original + f"# rewritten under load: {self.writes}\n")
            due += self.every

    def restore(self) -> None:
        self.path.write_text(self.original)


class QuietWaits:
    """Before each run, wait for the machine to be quiet: 10 s at most, and `budget` seconds in all."""

    def __init__(self, budget: float):
        self.left = budget

    def wait(self) -> None:
        self.left -= wait_until_quiet(at_most=min(10.0, max(0.0, self.left)))


def measure(server: Server, job: Job, batch: int, load: Load, rewriter: Rewriter | None = None) -> Run:
    samples: dict[str, object] = {}

    def during(warm_end: float, end: float) -> None:
        time.sleep(max(0.0, warm_end - time.monotonic()))
        samples["cpu"], samples["machine"] = server.cpu_seconds(), machine_busy_seconds()
        if rewriter is not None:
            threading.Thread(target=rewriter.until, args=(end,), name="rewriter", daemon=True).start()
        time.sleep(max(0.0, warm_end + (end - warm_end) / 2 - time.monotonic()))
        samples["connections"] = server.connections()
        samples["rss"] = server.rss_mb()
        time.sleep(max(0.0, end - time.monotonic()))
        samples["cpu"] = server.cpu_seconds() - samples["cpu"]
        samples["machine"] = machine_busy_seconds() - samples["machine"]
        samples["rss"] = max(samples["rss"], server.rss_mb())

    measurement = run_load(job, load.processes, load.warmup, load.window, during)
    return Run(measurement, batch, samples["cpu"], samples["machine"], samples["rss"], samples["connections"])


def jobs_for(system: str, target: str, batch: int, load: Load) -> Job:
    per_process = dict(channels=load.channels // load.processes, in_flight=load.in_flight // load.processes)
    if system == CLIENT:
        return Job(target, "", (), client_batch=batch, **per_process)
    if system in (FLOOR, RELOADING):
        system = DISCRETION  # the same requests
    if system == CERBOS:
        import cerbos_peer

        method, payloads = cerbos_peer.payloads(batch)
    else:
        method, payloads = mix.discretion_payloads(batch)
    return Job(target, method, tuple(payloads), **per_process)


def plan(systems: list[str], repeat: int) -> list[tuple[str, int]]:
    """What one repeat measures, in order: the compared systems alternate at each batch size;
    the reference rows (client, floor) come in the first repeat only; the reload run last."""
    compared = [s for s in (DISCRETION, CERBOS) if s in systems]
    steps = [(system, batch) for batch in BATCHES for system in compared]
    if repeat == 0:
        steps += [(system, batch) for system in (CLIENT, FLOOR) if system in systems for batch in BATCHES]
    return steps + [(RELOADING, 1)]


def run_all(servers: dict[str, Server], load: Load, rules: pathlib.Path,
            progress) -> tuple[dict[tuple[str, int], Cell], dict[str, int]]:
    """Every system at every batch size, alternating, `load.repeats` times; the median cells."""
    runs: dict[tuple[str, int], list[Run]] = {}
    rewriter = Rewriter(rules / "message.yaml")
    discretion = servers[DISCRETION]
    log_start = len(discretion.log.read_text(errors="replace"))
    quiet = QuietWaits(load.quiet_budget)
    for repeat in range(load.repeats):
        for system, batch in plan([*servers, CLIENT], repeat):
            quiet.wait()
            server = servers.get(system, discretion)
            job = jobs_for(system, server.target, batch, load)
            run = measure(server, job, batch, load, rewriter if system == RELOADING else None)
            runs.setdefault((system, batch), []).append(run)
            progress(f"repeat {repeat + 1}/{load.repeats}: {system}, batch {batch}: "
                     f"{run.load.rate() * batch:,.0f} decisions/s, p99 {run.load.percentile(0.99):.2f} ms")
    rewriter.restore()
    # A rewrite near the end of the window is reloaded after it: give the
    # watcher (a 1 s poll and its settling) time to say so in the log.
    deadline = time.monotonic() + 5
    while True:
        loaded = re.findall(r"revision (\w+)", discretion.log.read_text(errors="replace")[log_start:])
        if loaded or not rewriter.writes or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    reloads = {"writes": rewriter.writes, "revisions": len(set(loaded)), "loads": len(loaded)}
    return {key: Cell.of(value) for key, value in runs.items()}, reloads


# ---- the tables ---------------------------------------------------------------------

HEADER = ("| batch | system | req/s | decisions/s | p50 ms | p95 ms | p99 ms | RSS MB | server CPU µs/decision "
          "| CPU cores used: server + load + other | connections per server process |")


def _row(batch: int, system: str, c: Cell) -> str:
    errors = f" ({c.errors} errors)" if c.errors else ""
    return (f"| {batch} | {system}{errors} | {c.req_s:,.0f} | {c.decisions_s:,.0f} | {c.p50:.2f} | {c.p95:.2f} | "
            f"{c.p99:.2f} | {c.rss_mb:.0f} | {c.cpu_us:.0f} | {c.server_cores:.2f} + {c.load_cores:.2f} + {c.other_cores:.2f} | "
            f"{c.connections} |")


def _ratio_row(batch: int, a: Cell, b: Cell) -> str:
    r = lambda x, y: f"**{x / y:.2f}×**" if y else "—"  # noqa: E731
    return (f"| {batch} | Discretion / Cerbos | {r(a.req_s, b.req_s)} | {r(a.decisions_s, b.decisions_s)} | "
            f"{r(a.p50, b.p50)} | {r(a.p95, b.p95)} | {r(a.p99, b.p99)} | {r(a.rss_mb, b.rss_mb)} | "
            f"{r(a.cpu_us, b.cpu_us)} | | |")


def table(cells: dict[tuple[str, int], Cell]) -> list[str]:
    lines = [HEADER, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for batch in BATCHES:
        for system in (DISCRETION, CERBOS):
            if (system, batch) in cells:
                lines.append(_row(batch, system, cells[system, batch]))
        if (CERBOS, batch) in cells:
            lines.append(_ratio_row(batch, cells[DISCRETION, batch], cells[CERBOS, batch]))
        for system in (CLIENT, FLOOR, RELOADING):
            if (system, batch) in cells:
                lines.append(_row(batch, system, cells[system, batch]))
    return lines


def verdicts(cells: dict[tuple[str, int], Cell], reloads: dict[str, int]) -> list[str]:
    def said(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines = []
    quiet, busy = cells[DISCRETION, 1], cells[RELOADING, 1]
    if (CERBOS, 1) in cells:
        b1, c1, b20, c20 = cells[DISCRETION, 1], cells[CERBOS, 1], cells[DISCRETION, 20], cells[CERBOS, 20]
        lines.append(f"- batch 1, ≥ 1.2× Cerbos req/s: {b1.req_s / c1.req_s:.2f}× — {said(b1.req_s >= 1.2 * c1.req_s)}")
        lines.append(f"- batch 1, p99 no worse than Cerbos's: {b1.p99:.2f} ms vs {c1.p99:.2f} ms — "
                     f"{said(b1.p99 <= c1.p99)}")
        lines.append(f"- batch 20, ≥ 3× Cerbos decisions/s: {b20.decisions_s / c20.decisions_s:.2f}× — "
                     f"{said(b20.decisions_s >= 3 * c20.decisions_s)}")
    if not reloads["revisions"]:
        lines.append("- reload under load: **not measured**, no reload was seen in the window")
        return lines
    lines.append(f"- reload under load, p99 within 2× of p99 without reloads: {busy.p99:.2f} ms vs {quiet.p99:.2f} ms "
                 f"({busy.p99 / quiet.p99:.2f}×) — {said(busy.p99 <= 2 * quiet.p99)}; "
                 f"rules rewritten {_times(reloads['writes'])}, {reloads['revisions']} new revision(s) loaded "
                 f"({reloads['loads']} loads over all workers)")
    return lines


def setting(load: Load, workers: int, cerbos_version: str | None, engine: str | None = None) -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    memory = next((int(line.split()[1]) for line in pathlib.Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    import google.protobuf

    peer = f"Cerbos {cerbos_version} (`cerbos server`, disk store, one policy of 3 rules)" if cerbos_version else \
        "Cerbos: not run (--no-cerbos)"
    return [
        f"- date: {dt.date.today().isoformat()}; hardware: {cpu}, {os.cpu_count()} cores, "
        f"{memory / 1024 / 1024:.0f} GiB; {platform.system()} {platform.release()}; all on loopback",
        f"- Discretion: `discretion serve{f' --engine {engine}' if engine else ''}` with its default {workers} "
        f"worker processes, metrics on, "
        f"one agreement of 3 rules + one binding (benchmarks/policies/discretion/); Python "
        f"{platform.python_version()}, grpcio {grpc.__version__}, protobuf {google.protobuf.__version__}",
        f"- {peer}",
        f"- load: {load.processes} processes (grpc.aio), {load.channels} channels (one connection each) and "
        f"{load.in_flight} calls in flight in all, closed loop; {load.warmup:g} s warm-up, {load.window:g} s window, "
        f"{_repeats(load.repeats)}{', Discretion and Cerbos alternating' if cerbos_version else ''} (the client and "
        f"floor rows: one run); the load shares the {os.cpu_count()} cores with the server",
        "- request mix: mix.py, 20 requests (quote, share, export; allowed and denied), decided identically by "
        "both before timing; batch 1 sends them one per call in turn, batch 20 all in one call "
        "(`CheckBatch`, `CheckResources` with 20 resources)",
    ]


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _repeats(count: int) -> str:
    return "one run" if count == 1 else f"median of {count} repeats"


def write_results(path: pathlib.Path, lines: list[str]) -> None:
    text = path.read_text() if path.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path}: no {BEGIN} … {END} markers to write between")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{BEGIN}\n" + "\n".join(lines) + f"\n{END}{tail}")


# ---- main ---------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 s warm-up, 2 s windows, one repeat (a smoke run)")
    parser.add_argument("--no-cerbos", action="store_true", help="measure Discretion alone (no npm, no network)")
    parser.add_argument("--results", type=pathlib.Path, metavar="FILE", help="also write the tables into FILE")
    parser.add_argument("--processes", type=int, default=2, help="load processes (default 2)")
    parser.add_argument("--channels", type=int, default=8, help="channels in all (default 8)")
    parser.add_argument("--in-flight", type=int, default=16, help="calls in flight in all (default 16)")
    parser.add_argument("--repeats", type=int, help="repeats (default 3; 1 with --quick)")
    parser.add_argument("--engine", choices=("native", "reference"),
                        help="`discretion serve --engine` (default: the server's own default)")
    args = parser.parse_args()
    load = Load(args.processes, args.channels, args.in_flight, warmup=1.0 if args.quick else 2.0,
                window=2.0 if args.quick else 10.0, repeats=args.repeats or (1 if args.quick else 3),
                quiet_budget=4.0 if args.quick else 20.0)
    progress = lambda message: print(f"  {message}", file=sys.stderr, flush=True)  # noqa: E731

    with tempfile.TemporaryDirectory(prefix="discretion-grpc-bench-") as tmp:
        folder = pathlib.Path(tmp)
        rules = folder / "rules"
        shutil.copytree(DISCRETION_POLICY, rules)
        servers: dict[str, Server] = {}
        cerbos_version = None
        try:
            if not discretion_has_workers():
                progress("`discretion serve` has no --workers: one process serves")
            servers[DISCRETION], workers = start_discretion(rules, folder, engine=args.engine)
            if not args.no_cerbos:
                import cerbos_peer

                progress(f"installing Cerbos {cerbos_peer.VERSION} from npm into {folder}")
                binary = cerbos_peer.install(folder / "npm")
                cerbos_version = cerbos_peer.version(binary)
                servers[CERBOS] = cerbos_peer.start(binary, folder)
            answers, raw = {}, {}
            for system, server in servers.items():
                answers.update(decisions_of(system, server.target, raw if system == DISCRETION else {}))
            problems = check_equivalence(answers)
            if problems:
                print("the systems do not decide the mix as the policy reads; nothing timed:", file=sys.stderr)
                print("\n".join(problems), file=sys.stderr)
                return 1
            progress(f"the {len(answers)} ways of asking decide the 20 requests identically; timing")
            servers[FLOOR] = start_floor(folder, raw[1], raw[20], workers)
            cells, reloads = run_all(servers, load, rules, progress)
        except RuntimeError as error:  # a server or a load process that failed: said, not traced
            print(f"grpc_bench: {error}", file=sys.stderr)
            return 2
        finally:
            for server in servers.values():
                server.stop()

    lines = ["### Setting", "", *setting(load, workers, cerbos_version, args.engine), "",
             "### Throughput and latency", "", *table(cells), "", "### Targets", "", *verdicts(cells, reloads)]
    print("\n".join(lines))
    if args.results:
        write_results(args.results, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
