"""Worker processes: one port shared, a killed worker replaced, SIGTERM stopping them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import discretion_client as dc

from .conftest import RULES, alive, chatham_quote, eventually


def test_a_killed_worker_is_replaced_and_the_port_keeps_answering(start_ops):
    server = start_ops(RULES, workers=2)
    first = server.workers()
    assert len(first) == 2
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    assert server.wait_for_log(r"worker \d \(pid %d\) died with exit code -9" % victim), server.log()
    assert server.wait_for_log(r"worker \d restarted as pid \d+"), server.log()
    eventually(lambda: len(server.workers()) == 2 and victim not in server.workers())
    assert server.sample("discretion_worker_restarts_total") == 1
    # Each client opens new connections, which the kernel spreads over both workers.
    for _ in range(8):
        with dc.Client(server.target) as client:
            assert client.check(chatham_quote()).decision == "allow_with_obligations"
    # The replacement loaded the rules and counts into the same page.
    eventually(lambda: server.sample("discretion_policy_reloads_total", result="success") == 3)


def test_sigterm_stops_every_worker_and_exits_zero(start_ops):
    server = start_ops(RULES, "--log-level", "debug", workers=2)  # every worker's lines
    workers = server.workers()
    with dc.Client(server.target) as client:
        client.check(chatham_quote())
    server.signal(signal.SIGTERM)
    assert server.process.wait(30) == 0, server.log()
    assert not any(alive(pid) for pid in workers)
    assert server.log().count("stopping: letting calls in flight finish") == 2


def test_sigterm_while_a_worker_restarts_still_exits_zero(start_ops):
    """A replacement still importing has served nothing: stopping it is no failure."""
    server = start_ops(RULES, workers=2)
    victim = min(server.workers())
    os.kill(victim, signal.SIGKILL)
    assert server.wait_for_log(r"worker \d restarted as pid \d+"), server.log()
    server.signal(signal.SIGTERM)  # at once: the replacement is most likely still loading
    assert server.process.wait(30) == 0, server.log()


def test_a_worker_outlives_no_supervisor(start_ops):
    """Killing the supervisor outright must not leave workers holding the port."""
    server = start_ops(RULES, workers=2)
    workers = server.workers()
    server.process.kill()
    server.process.wait(10)
    eventually(lambda: not any(alive(pid) for pid in workers), timeout=30,
               message="workers kept running after their supervisor died")


def test_workers_that_cannot_start_fail_the_supervisor(tmp_path):
    command = [sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--address", "127.0.0.1:0",
               "--metrics-address", "off", "--workers", "2", "--decision-log", str(tmp_path / "missing" / "log")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "cannot open the decision log" in result.stderr


def test_round_robin_spreads_calls_over_every_address(start_ops):
    """The client's default service config balances calls, not connections, over what a target resolves to."""
    servers = [start_ops(RULES, workers=1), start_ops(RULES, workers=1)]

    def decided() -> list[float]:
        return [s.sample("discretion_decisions_total", action="quote", decision="allow_with_obligations")
                for s in servers]

    # One channel, two addresses: what a headless Service's DNS name resolves to.
    target = "ipv4:" + ",".join(f"127.0.0.1:{s.port}" for s in servers)
    with dc.Client(target, channels=1) as client:
        # round_robin picks among connected addresses: wait until both are.
        eventually(lambda: client.check(chatham_quote()) and min(decided()) > 0,
                   message="round_robin never reached both addresses")
        before = decided()
        for _ in range(20):
            client.check(chatham_quote())
    counts = [after - earlier for after, earlier in zip(decided(), before, strict=True)]
    assert sum(counts) == 20 and min(counts) >= 5, counts


def test_a_port_another_server_holds_is_refused(start_ops):
    """Workers share their port on purpose; a second server started by mistake must not join them."""
    first = start_ops(RULES, workers=2)
    command = [sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--address", first.target,
               "--metrics-address", "off", "--workers", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on `{first.target}`" in result.stderr


def test_a_killed_worker_costs_the_client_no_failed_call(start_ops):
    """Calls cut off by the kill, and reconnects reset by the dying listener, are retried to a live worker."""
    server = start_ops(RULES, workers=2)
    victim = min(server.workers())
    answered, failed = [], []
    stop = threading.Event()

    def ask() -> None:
        with dc.Client(server.target, channels=2, timeout=10) as client:
            while not stop.is_set():
                try:
                    answered.append(client.check(chatham_quote()).decision)
                except dc.DiscretionError as error:
                    failed.append(error)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        eventually(lambda: len(answered) > 100)
        os.kill(victim, signal.SIGKILL)
        eventually(lambda: victim not in server.workers() and len(server.workers()) == 2)
        before = len(answered)
        eventually(lambda: len(answered) > before + 200)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not failed, failed[:3]
    assert set(answered) == {"allow_with_obligations"}
