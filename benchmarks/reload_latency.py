"""How much a large reload slows the calls answered meanwhile: p50 and p99 during reloads beside quiet windows.

Starts `discretion serve` on 127.0.0.1 with a copy of `rules/`, runs two client
threads asking an ordinary quote every 5 ms each, and alternates quiet windows
with reloads of an agreement of RULES rules (one written, then changed, so each
reload is a new revision). It prints the calls' p50 and p99 in the quiet
windows and in the reload windows (from the first worker's compile starting
to the last one's ending, as the server's log times them), and each reload's
time.

    python benchmarks/reload_latency.py [--rules 10000] [--workers 1] [--reloads 4] [--server-tree DIR]

With one worker every call meets the reload; with two, the workers take turns
and a client's connection meets its own worker's reload for half the window.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import grpc

from discretion.server._gen.discretion.v1 import policy_pb2 as pb

import servers  # benchmarks/servers.py

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECK = "/discretion.v1.PolicyService/Check"
LOADED = re.compile(r"rules loaded from \S+, revision \w+(?:, decided by the \w+ engine)? \((\d+\.\d+) s\)")


def agreement(name: str, rules: int) -> str:
    lines = [f"agreement: {name}", "title: Many rules", "summary: s", "versions:", "  - version: 1", "    rules:"]
    lines += [f"      - {{id: r{i}, when: {{actor.id: a{i}}}, effect: deny, reason: {{code: c, message: m}}}}"
              for i in range(rules)]
    return "\n".join(lines) + "\n"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000, help="rules of the agreement reloaded")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reloads", type=int, default=4)
    parser.add_argument("--server-tree", default=str(ROOT), help="serve from this checkout's service/")
    args = parser.parse_args(argv)

    folder = pathlib.Path(tempfile.mkdtemp(prefix="discretion-reload-"))
    rules = folder / "rules"
    shutil.copytree(ROOT / "rules", rules)
    log = folder / "server.log"
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(args.server_tree) / "service"), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "discretion", "serve", "--rules", str(rules), "--address", "127.0.0.1:0",
               "--workers", str(args.workers), "--metrics-address", "off"]
    shown = subprocess.run([*command[:4], "--help"], env=env, capture_output=True, text=True)
    help_text = shown.stdout + shown.stderr
    if "--log-level" in help_text:  # every worker's reloads are timed, not worker 0's alone
        command += ["--log-level", "debug"]
    server = servers.Server("Discretion", servers.start_process(command, log, env), "", log)
    try:
        target = server.wait_for_line(r"discretion: serving on (\S+)").group(1)
        time.sleep(1.0)
        body = pb.CheckRequest(
            action=pb.ACTION_QUOTE, actor=pb.Actor(id="ana", member=True), quoted_text="rates will rise",
            items=[pb.Item(id="m1", author=pb.Person(id="bo"), text="hello")],
            group=pb.Group(id="g", participants=[pb.Person(id="li", display_name="Li Chen")],
                           adoptions=[pb.Adoption(agreement="chatham-house")]),
            destination=pb.Destination(kind=pb.DESTINATION_KIND_PUBLIC)).SerializeToString()
        seen: list[tuple[float, float]] = []
        stop = threading.Event()

        def ask() -> None:
            with grpc.insecure_channel(target) as channel:
                check = channel.unary_unary(CHECK)
                while not stop.is_set():
                    started = time.time()
                    check(body, timeout=30)
                    seen.append((started, time.time() - started))
                    time.sleep(0.005)

        clients = [threading.Thread(target=ask) for _ in range(2)]
        for client in clients:
            client.start()
        windows: dict[str, list[tuple[float, float]]] = {"quiet": [], "reload": []}
        texts = [agreement("many", args.rules), agreement("many", args.rules).replace("title: Many", "title: More")]
        time.sleep(2.0)
        for n in range(args.reloads):
            quiet = time.time()
            time.sleep(2.5)
            windows["quiet"].append((quiet, time.time()))
            loaded = len(LOADED.findall(log.read_text()))
            (rules / "many.yaml").write_text(texts[n % 2])
            # Each worker's load is seen within 10 ms of its log line, which says how long it took:
            # the window is from the first compile's start to the last one's end.
            starts, ends = [], []
            while len(ends) < args.workers:
                found = LOADED.findall(log.read_text())[loaded:]
                for took in found[len(ends):]:
                    ends.append(time.time())
                    starts.append(ends[-1] - float(took))
                time.sleep(0.01)
            windows["reload"].append((min(starts), max(ends)))
        stop.set()
        for client in clients:
            client.join(30)
    finally:
        server.stop()
    took = LOADED.findall(log.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    print(f"{args.rules:,} rules, {args.workers} worker(s), server from {args.server_tree}")
    for kind in ("quiet", "reload"):
        calls = [s * 1000 for t, s in seen if any(a <= t <= b for a, b in windows[kind])]
        print(f"  {kind:6}: {len(calls):5} calls, p50 {quantile(calls, 0.5):5.1f} ms, p99 {quantile(calls, 0.99):5.1f} ms")
    print("  reloads (s, per worker): " + ", ".join(took[-args.reloads * args.workers:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
