"""A chaos run: sustained load on `discretion serve --workers 2` while things break, then an account of what was lost.

Several client processes (the project's client, retries on) ask a fixed mix of
questions on 127.0.0.1 for CHAOS_SECONDS, each call in its own group id so its
decision-log line can be found. Meanwhile:

  at 20 %  a broken rules file is written (the last good rules keep serving),
  at 40 %  it is fixed (removed),
  at 55 %  one worker process is killed with SIGKILL (the supervisor restarts it),
  at 100 % the clients stop sending and the supervisor gets SIGTERM while their
           last calls are in flight (they must finish: a graceful stop).

Every answer is compared with the decision computed beforehand in this process
with `decide()` on the same rules. The report counts calls made, calls failed
(after the client's retries), decisions that differed, and decision-log lines
lost (answered calls whose group id has no line). A call that fails is asked
again once, as a caller would. Exit 1 if any decision differed, a failure
happened outside the killed worker's window, a second ask failed too, or an
answered call has no decision-log line (a worker writes its lines into the
supervisor's pipe before it answers, so even SIGKILL must lose none).

    python benchmarks/chaos.py [--seconds 60] [--clients 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
READY = re.compile(r"discretion: serving on (\S+):(\d+)")
UTC = dt.timezone.utc


def mix():
    """The questions asked, each a function of a group id (one per call)."""
    import discretion_client as dc

    chen = dc.Person(id="u-chen", display_name="Li Chen", organization="Northwind Bank")
    ana = dc.Actor(id="u-ana", display_name="Ana Lopez", organization="Contoso", member=True)
    outsider = dc.Actor(id="u-eve", display_name="Eve", organization="Elsewhere", member=False)
    adoption = dc.Adoption("chatham-house", 1, effective_from=dt.datetime(2026, 2, 1, tzinfo=UTC))

    def ask(action, destination, actor=ana, quoted="", identity=False, agreement=adoption):
        def request(group_id: str) -> dc.CheckRequest:
            return dc.CheckRequest(
                action=action, actor=actor,
                group=dc.Group(id=group_id, adoptions=[agreement], participants=[chen]),
                items=[dc.Item(id="m-1", author=chen, posted_at=dt.datetime(2026, 3, 1, 10, tzinfo=UTC),
                               text="rates will rise")],
                destination=dc.Destination(kind=destination), attribution=dc.Attribution(author_identity=identity),
                quoted_text=quoted)
        return request

    tlp = dc.Adoption("tlp", 2, effective_from=dt.datetime(2026, 2, 1, tzinfo=UTC))
    return [
        ask("quote", "public", quoted="As Chen said, rates will rise.", identity=True),
        ask("quote", "public", quoted="Rates will rise."),
        ask("share", "same_group"),
        ask("share", "public", actor=outsider),
        ask("export", "personal_archive"),
        ask("share", "community_peer", agreement=tlp),
    ]


def expected_decisions(rules: pathlib.Path) -> list[tuple]:
    """What each question of the mix must be answered, decided in this process from the same rules."""
    from discretion_client import _convert as client_convert

    from discretion.engine import decide
    from discretion.server import convert
    from discretion.server._gen.discretion.v1 import policy_pb2 as pb
    from discretion.store.files import compile_directory

    policy = compile_directory(rules)
    answers = []
    for question in mix():
        wire = pb.CheckRequest.FromString(client_convert.check_request(question("g-chaos-expected"))
                                          .SerializeToString())
        decision = decide(policy, convert.request_from_proto(wire), now=time.time_ns())
        answers.append((decision.decision, tuple(sorted(o.type for o in decision.obligations))))
    return answers


def summary(decision) -> tuple:
    return (decision.decision, tuple(sorted(o.type for o in decision.obligations)))


def client_process(index: int, target: str, until: float, stop, expected: list[tuple], results) -> None:
    import discretion_client as dc

    questions = mix()
    made = failed = recovered = differed = 0
    answered: list[str] = []
    failures: list[tuple[float, str]] = []
    # Several channels, so connections land on every worker (the kernel spreads connections, not calls).
    with dc.Client(target, timeout=10, channels=4) as client:
        n = 0
        while not stop.is_set() and time.time() < until:
            which = n % len(questions)
            group_id = f"g-chaos-{index}-{n}"
            n += 1
            made += 1
            try:
                decision = client.check(questions[which](group_id))
            except dc.DiscretionError as error:
                failed += 1
                failures.append((time.time(), f"{error.code}: {error.details}"[:200]))
                try:  # what a caller does with UNAVAILABLE: ask again (a new call, a new group id)
                    group_id += "-again"
                    decision = client.check(questions[which](group_id))
                    recovered += 1
                except dc.DiscretionError as again:
                    failures.append((time.time(), f"retry failed: {again.code}: {again.details}"[:200]))
                    continue
            answered.append(group_id)
            if summary(decision) != expected[which]:
                differed += 1
    results.put(dict(made=made, failed=failed, recovered=recovered, differed=differed, answered=answered, failures=failures))


def worker_pids(supervisor: int) -> list[int]:
    children = pathlib.Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children
            if b"spawn_main" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("CHAOS_SECONDS", 60)))
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)

    folder = pathlib.Path(tempfile.mkdtemp(prefix="discretion-chaos-"))
    rules = folder / "rules"
    shutil.copytree(ROOT / "rules", rules)
    log_path = folder / "decisions.jsonl"
    expected = expected_decisions(rules)

    server = subprocess.Popen(
        [sys.executable, "-m", "discretion", "serve", "--rules", str(rules), "--address", "127.0.0.1:0",
         "--workers", "2", "--metrics-address", "off", "--decision-log", str(log_path)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    ready = threading.Event()
    port = []

    def read() -> None:
        for line in server.stderr:
            lines.append(line)
            match = READY.search(line)
            if match and not ready.is_set():
                port.append(int(match.group(2)))
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        server.kill()
        print("chaos: the server did not start:\n" + "".join(lines), file=sys.stderr)
        return 2
    target = f"127.0.0.1:{port[0]}"

    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    start = time.time()
    until = start + args.seconds
    clients = [context.Process(target=client_process, args=(i, target, until + 60, stop, expected, results))
               for i in range(args.clients)]
    for process in clients:
        process.start()

    events: list[tuple[float, str]] = []

    def at(fraction: float) -> None:
        time.sleep(max(0.0, start + fraction * args.seconds - time.time()))

    broken = rules / "zz-chaos-broken.yaml"
    at(0.20)
    broken.write_text("agreement: [this is not, an agreement\n")
    events.append((time.time(), "broken rules file written"))
    at(0.40)
    broken.unlink()
    events.append((time.time(), "broken rules file removed"))
    at(0.55)
    victim = worker_pids(server.pid)[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.time()
    events.append((killed_at, f"worker pid {victim} killed (SIGKILL)"))
    at(1.0)
    stop.set()
    server.send_signal(signal.SIGTERM)
    events.append((time.time(), "clients told to stop; supervisor sent SIGTERM"))
    code = server.wait(60)

    totals = dict(made=0, failed=0, recovered=0, differed=0)
    answered: list[str] = []
    failures: list[tuple[float, str]] = []
    for _ in clients:
        result = results.get(timeout=60)
        for key in totals:
            totals[key] += result[key]
        answered += result["answered"]
        failures += result["failures"]
    for process in clients:
        process.join(10)

    logged = {json.loads(line)["group_id"] for line in log_path.read_text().splitlines() if line.strip()}
    lost = [g for g in answered if g not in logged]
    near_kill = [f for f in failures if killed_at - 1 <= f[0] <= killed_at + 10]
    elsewhere = [f for f in failures if f not in near_kill]
    unrecovered = totals["failed"] - totals["recovered"]

    print(f"chaos run: {args.seconds:.0f} s, {args.clients} client processes, 2 workers, on {target}")
    for when, what in events:
        print(f"  t+{when - start:5.1f}s  {what}")
    print(f"  server exit code after SIGTERM: {code}; worker restarts seen: "
          f"{''.join(lines).count('restarted as pid')}")
    print(f"  expected decisions of the mix:  {', '.join(d for d, _ in expected)}")
    for line in lines:
        if "chaos" in line or "refus" in line or "died" in line or "restarted" in line or "reloaded" in line.lower():
            print(f"  server: {line.strip()[:160]}")
    print(f"calls made:                      {totals['made']:,}")
    print(f"calls answered:                  {len(answered):,}")
    print(f"calls failed (after retries):    {totals['failed']:,} "
          f"({len(near_kill)} around the worker kill, {len(elsewhere)} elsewhere)")
    print(f"failed calls that succeeded when asked again: {totals['recovered']:,} of {totals['failed']:,}")
    for when, what in failures[:10]:
        print(f"    t+{when - start:5.1f}s  {what}")
    print(f"decisions that differed:         {totals['differed']:,}")
    print(f"decision-log lines:              {len(logged):,}")
    print(f"decision-log lines lost:         {len(lost):,} (answered calls with no line)")
    shutil.rmtree(folder, ignore_errors=True)
    return 1 if totals["differed"] or elsewhere or unrecovered or lost or code != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
