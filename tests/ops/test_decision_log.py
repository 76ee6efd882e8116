"""The decision log: one line per decision, no content in it, nothing lost on a stop or a worker's death."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import discretion_client as dc

from .conftest import CHEN, ROUNDTABLE, RULES, UTC, chatham_quote, eventually, log_lines

FIELDS = {"decision_id", "time", "policy_revision", "group_id", "action", "destination_kind", "decision",
          "agreements", "rules", "reason_codes", "obligations", "items", "latency_us"}

# Text and names a group protects, each distinctive enough that finding it
# anywhere in the log can only mean it leaked.
SECRETS = ["Quillfeather", "Marrowgate Holdings", "Ysolde Brightwater", "@ysolde-b", "Thornbury Analytics",
           "saffron-lantern", "Vantablue Partners", "the merger closes on Tuesday", "Li Chen", "Northwind",
           "Contoso", "Ana Lopez", "rates will rise"]


def revealing_quote() -> dc.CheckRequest:
    ysolde = dc.Person(id="u-7", display_name="Ysolde Brightwater", organization="Thornbury Analytics",
                       handles=["@ysolde-b"])
    return chatham_quote(
        group=dc.Group(id="g-roundtable", adoptions=chatham_quote().group.adoptions,
                       participants=[CHEN, ysolde]),
        items=[
            dc.Item(id="m-1", author=CHEN, posted_at=dt.datetime(2026, 3, 1, 10, tzinfo=UTC),
                    text="Quillfeather says the merger closes on Tuesday (saffron-lantern)"),
            dc.Item(id="m-2", author=ysolde, posted_at=dt.datetime(2026, 3, 1, 11, tzinfo=UTC),
                    text="Marrowgate Holdings and Vantablue Partners agree"),
        ],
        quoted_text="As Chen said, rates will rise; Ysolde Brightwater of Thornbury Analytics agreed "
                    "that the merger closes on Tuesday (Quillfeather, saffron-lantern, Marrowgate Holdings).",
    )


def test_a_chatham_house_quote_is_logged_without_its_content(start_ops, tmp_path):
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log))
    with dc.Client(server.target) as client:
        decision = client.check(revealing_quote())
        batch = client.check_batch([chatham_quote(), chatham_quote(action="share")])
    assert server.stop() == 0, server.log()  # a graceful stop flushes the log

    text = log.read_text()
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), f"`{secret}` leaked into the decision log"
    first, *rest = log_lines(log)
    assert len(rest) == len(batch)
    assert set(first) == FIELDS
    assert first["group_id"] == "g-roundtable"
    assert (first["action"], first["destination_kind"], first["decision"]) == ("quote", "public", decision.decision)
    assert first["policy_revision"] == decision.policy_revision
    assert first["items"] == 2
    assert set(first["obligations"]) == {o.type for o in decision.obligations}
    assert "chatham-house@1/speaker-not-named" in first["rules"]
    assert set(first["reason_codes"]) == {f.reason_code for f in decision.findings}
    assert "chatham-house@1" in first["agreements"]
    assert first["latency_us"] >= 0
    assert dt.datetime.fromisoformat(first["time"].replace("Z", "+00:00")).tzinfo is not None
    assert len({line["decision_id"] for line in [first, *rest]}) == 3


def test_sigterm_under_traffic_loses_no_line(start_ops, tmp_path):
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log))
    answered = 0
    with dc.Client(server.target, channels=4, timeout=30) as client:
        client.check(chatham_quote())
        answered += 1
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(client.check_batch, [chatham_quote()] * 25) for _ in range(48)]
            time.sleep(0.1)
            server.signal(signal.SIGTERM)
            for future in futures:
                try:
                    answered += len(future.result())
                except dc.UnavailableError:
                    pass  # refused once the server stopped accepting: never decided
    assert server.process.wait(60) == 0, server.log()
    assert answered > 1
    lines = log_lines(log)
    # Every decision a caller received is in the log. (A decision whose
    # answer a caller never got, had one been cut off, would be logged too.)
    assert answered <= len(lines) <= 1 + 48 * 25
    assert "discretion: stopped" in server.log()


def test_the_log_can_go_to_standard_output(start_ops, tmp_path):
    command = [sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--address", "127.0.0.1:0",
               "--metrics-address", "off", "--workers", "1", "--decision-log", "-"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in process.stderr:
            if "serving on" in line:
                port = line.rsplit(":", 1)[1].strip()
                break
        assert port, "the server did not start"
        with dc.Client(f"127.0.0.1:{port}") as client:
            client.check(revealing_quote())
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    (line,) = out.splitlines()
    assert '"decision":"allow_with_obligations"' in line
    assert not any(secret.lower() in line.lower() for secret in SECRETS)


def test_lines_a_killed_worker_gave_out_are_not_lost(start_ops, tmp_path):
    """Each call asks for a group of its own; every call answered must have its line, SIGKILL or not."""
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log), workers=2)
    victim = min(server.workers())
    answered: list[str] = []
    stop = threading.Event()

    def ask(thread: int) -> None:
        with dc.Client(server.target, channels=2, timeout=10) as client:
            for call in itertools.count():
                if stop.is_set():
                    return
                group = f"g-{thread}-{call}"
                request = chatham_quote(group=dc.Group(id=group, adoptions=ROUNDTABLE.adoptions,
                                                       participants=ROUNDTABLE.participants))
                try:
                    client.check(request)
                except dc.DiscretionError:
                    continue  # cut off by the kill before an answer came: nothing was given out
                answered.append(group)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        threads = [pool.submit(ask, n) for n in range(4)]
        eventually(lambda: len(answered) > 200)
        os.kill(victim, signal.SIGKILL)
        eventually(lambda: victim not in server.workers() and len(server.workers()) == 2)
        before = len(answered)
        eventually(lambda: len(answered) > before + 200)
        stop.set()
        for thread in threads:
            thread.result()
    assert server.stop() == 0, server.log()
    logged = {line["group_id"] for line in log_lines(log)}
    missing = [group for group in answered if group not in logged]
    assert not missing, f"{len(missing)} of {len(answered)} answered calls have no line: {missing[:5]}"
    assert "died with exit code -9" in server.log()


def test_a_full_pipe_drops_whole_lines_and_counts_them(tmp_path):
    from discretion.engine import decide
    from discretion.engine.instants import SECOND
    from discretion.server import convert
    from discretion.server.decision_log import DecisionLog, Entry, open_pipe
    from discretion.server.summary import Summary
    from discretion.store.files import compile_directory
    from server.support import check

    now = 1_800_000_000 * SECOND
    policy = compile_directory(RULES)
    facts = convert.request_from_proto(check())
    entry = Entry(Summary.of(facts, decide(policy, facts, now=now)), 1e-5)
    read_fd, write_fd = open_pipe()
    drops = []
    log = DecisionLog(write_fd, on_drop=drops.append)
    calls = 0
    while not drops:  # nobody reads the pipe: it fills up
        log.record([entry] * 3, now)
        calls += 1
    log.record([entry], now)  # still full: dropped at once, never blocks
    log.close()
    log.record([entry], now)  # after close: dropped and counted
    assert log.dropped == sum(drops) >= 3
    with os.fdopen(read_fd, "rb") as pipe:
        lines = pipe.read().decode().splitlines()
    assert len(lines) + log.dropped == calls * 3 + 2
    assert all(json.loads(line)["decision"] == entry.summary.decision for line in lines)  # none cut in two


def test_a_line_longer_than_pipe_buf_is_never_cut_and_never_waited_for(tmp_path):
    """A nearly full pipe takes part of a long line: the rest is written later, nothing blocks meanwhile."""
    import dataclasses
    import fcntl
    import select

    from discretion.engine import decide
    from discretion.engine.instants import SECOND
    from discretion.server import convert
    from discretion.server.decision_log import DecisionLog, Entry
    from discretion.server.summary import Summary
    from discretion.store.files import compile_directory
    from server.support import check

    now = 1_800_000_000 * SECOND
    policy = compile_directory(RULES)
    facts = convert.request_from_proto(check())
    decision = decide(policy, facts, now=now)
    many_rules = tuple(dataclasses.replace(decision.findings[0], rule=f"a-rule-with-a-long-name-{n:04}")
                       for n in range(150))
    long_entry = Entry(Summary.of(facts, dataclasses.replace(decision, findings=many_rules)), 1e-5)
    read_fd, write_fd = os.pipe()
    capacity = fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, select.PIPE_BUF)  # the smallest pipe Linux makes
    log = DecisionLog(write_fd)
    started = time.monotonic()
    log.record([long_entry], now)  # longer than the pipe: part of it goes in
    log.record([Entry(Summary.of(facts, decision), 1e-5)], now)  # the pipe is full: dropped, not waited for
    assert time.monotonic() - started < 0.5
    assert log.dropped == 1
    received = os.read(read_fd, capacity)
    assert 0 < len(received) <= capacity and not received.endswith(b"\n")  # the long line, cut so far
    reader = threading.Thread(target=lambda: received_rest.append(_read_all(read_fd)))
    received_rest: list[bytes] = []
    reader.start()
    log.close()  # finishes the long line, then closes the pipe
    reader.join(10)
    (line,) = (received + received_rest[0]).decode().splitlines()
    assert len(line) > capacity
    assert len(json.loads(line)["rules"]) == 150


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_reopens_the_log_file_after_logrotate_moved_it(start_ops, tmp_path, workers):
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log), workers=workers)
    with dc.Client(server.target) as client:
        client.check(chatham_quote())
        eventually(lambda: log.exists() and len(log_lines(log)) == 1)
        rotated = log.rename(tmp_path / "decisions.jsonl.1")
        server.signal(signal.SIGHUP)
        eventually(lambda: log.exists(), message="SIGHUP did not open the log file again")
        client.check_batch([chatham_quote(), chatham_quote()])
    assert server.stop() == 0, server.log()
    assert len(log_lines(rotated)) == 1
    assert len(log_lines(log)) == 2


def test_a_refusal_of_the_engines_own_is_logged_with_its_reason_code(start_ops, tmp_path):
    """Such a line once said `"rules":["@0/"]`: now no rule, and the code that says what was refused."""
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log))
    unknown = dataclasses.replace(ROUNDTABLE, adoptions=[dc.Adoption("no-such-agreement", 1)])
    with dc.Client(server.target) as client:
        assert client.check(chatham_quote(group=unknown)).decision == "deny"
    eventually(lambda: len(log_lines(log)) == 1)
    [line] = log_lines(log)
    assert (line["rules"], line["reason_codes"]) == ([], ["unknown_agreement"])


def test_ids_are_logged_as_hmacs_with_the_operators_key(start_ops, tmp_path):
    """Group ids may embed people's names: with a key, lines still correlate but name no group."""
    import hashlib
    import hmac

    log, key = tmp_path / "decisions.jsonl", tmp_path / "log.key"
    key.write_bytes(b"k3y-0f-at-least-sixteen-bytes\n")
    server = start_ops(RULES, "--decision-log", str(log), "--decision-log-hash-ids", str(key))
    with dc.Client(server.target) as client:
        client.check(chatham_quote())
        client.check(chatham_quote())
    eventually(lambda: len(log_lines(log)) == 2)
    first, second = log_lines(log)
    expected = hmac.new(b"k3y-0f-at-least-sixteen-bytes", b"g-roundtable", hashlib.sha256).hexdigest()
    assert first["group_id"] == second["group_id"] == expected
    assert "g-roundtable" not in log.read_text()


def test_a_short_id_key_is_refused_at_start(tmp_path):
    key = tmp_path / "log.key"
    key.write_bytes(b"short\n")
    result = subprocess.run([sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--address",
                             "127.0.0.1:0", "--workers", "1", "--metrics-address", "off", "--decision-log", "-",
                             "--decision-log-hash-ids", str(key)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "at least 16 bytes" in result.stderr


def test_decision_log_only_leaves_out_the_outcomes_not_asked_for(start_ops, tmp_path):
    """Opt in: `deny,obligations` logs denials and allows with obligations, not plain allows (ignoreAllowAll)."""
    log = tmp_path / "decisions.jsonl"
    server = start_ops(RULES, "--decision-log", str(log), "--decision-log-only", "deny,obligations")
    stranger = dc.Actor(id="eve", display_name="Eve", organization="", role="member", member=False)
    with dc.Client(server.target) as client:
        outcomes = [client.check(chatham_quote()).decision,  # named: obligations
                    client.check(chatham_quote(action="share", destination=dc.Destination(kind="same_group"))).decision,
                    client.check(chatham_quote(actor=stranger)).decision]
        batch = client.check_batch([chatham_quote(), chatham_quote(action="share",
                                                                   destination=dc.Destination(kind="same_group"))])
    assert server.stop() == 0, server.log()
    assert outcomes == ["allow_with_obligations", "allow", "deny"], outcomes
    kept = [d.decision_id for d in [*batch] if d.decision != "allow"]
    lines = log_lines(log)
    assert [line["decision"] for line in lines] == ["allow_with_obligations", "deny", "allow_with_obligations"]
    assert lines[-1]["decision_id"] == kept[-1]


def test_decision_log_only_refuses_what_it_does_not_know():
    result = subprocess.run([sys.executable, "-m", "discretion", "serve", "--rules", str(RULES),
                             "--decision-log-only", "deny,allowed"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--decision-log-only takes `all` or outcomes of deny, obligations, allow, not `deny,allowed`" in result.stderr
