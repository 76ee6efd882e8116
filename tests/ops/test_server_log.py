"""The server's own log on standard error: text for people, JSON for machines, one line per event.

Real `discretion serve` processes with two workers; their standard error is
read whole, so a line that is not what `--log-format` promises fails a test.
"""

from __future__ import annotations

import json
import os
import re
import pathlib
import signal
import subprocess
import sys

import discretion_client as dc

from integration.conftest import ROOT

from .conftest import RULES, chatham_quote, eventually

README = ROOT / "README.md"

BROKEN = ("effect: allow", "effect: alow")
FIELDS = {"time", "level", "process", "pid", "event", "message"}


def json_lines(text: str) -> list[dict]:
    """Every line of `text` as a JSON object: fails on the first line that is not one."""
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise AssertionError(f"not a JSON line ({error}): {line!r}") from None
    return lines


def events(text: str, name: str) -> list[dict]:
    return [line for line in json_lines(text) if line["event"] == name]


def test_in_json_mode_every_line_is_an_object_and_each_event_is_said_once(start_ops, rules_copy):
    server = start_ops(rules_copy, "--log-format", "json", workers=2)
    with dc.Client(server.target) as client:
        assert client.check(chatham_quote()).decision
    chatham = rules_copy / "chatham-house.yaml"
    good = chatham.read_text()
    chatham.write_text(good.replace(*BROKEN, 1))
    eventually(lambda: '"rules_not_loaded"' in server.log())
    chatham.write_text(good)
    eventually(lambda: len([line for line in server.log().splitlines() if '"rules_loaded"' in line]) == 2)
    victim = min(server.workers())
    # grpc's C core writes past Python's logging: told to say nothing, in every process.
    for pid in server.workers():  # (the supervisor set it before it loaded grpc; its /proc environ is its start's)
        assert b"GRPC_VERBOSITY=NONE\0" in pathlib.Path(f"/proc/{pid}/environ").read_bytes()
    os.kill(victim, signal.SIGKILL)  # the supervisor says so, and starts another
    eventually(lambda: '"worker_restarted"' in server.log())
    assert server.stop() == 0, server.log()

    lines = json_lines(server.log())
    assert all(FIELDS <= set(line) for line in lines), lines
    assert {line["level"] for line in lines} <= {"info", "warning", "error"}
    assert {line["process"] for line in lines} >= {"supervisor", "worker-0"}
    [listening] = [line for line in events(server.log(), "listening") if line["fields"]["service"] == "grpc"]
    assert listening["fields"]["port"] == server.port and listening["fields"]["workers"] == 2
    # Two workers reloaded each change; one line says so for both.
    [refused] = events(server.log(), "rules_not_loaded")
    assert refused["level"] == "error" and refused["process"] == "worker-0"
    [diagnostic] = refused["fields"]["diagnostics"]
    assert (diagnostic["file"].endswith("chatham-house.yaml"), diagnostic["code"]) == (True, "unknown_value")
    assert diagnostic["line"] > 0 and diagnostic["column"] > 0 and diagnostic["rule"] == "information-may-be-used"
    assert "\n" in refused["message"]  # the lines a person reads, kept inside one object
    shown = next(json.loads(line) for line in README.read_text().splitlines()
                 if line.startswith('{"time"') and '"rules_not_loaded"' in line)
    assert (list(shown), list(shown["fields"])) == (list(refused), list(refused["fields"]))
    assert list(shown["fields"]["diagnostics"][0]) == list(diagnostic)
    assert len(events(server.log(), "rules_loaded")) == 2  # the start and the fix: not once per worker
    assert events(server.log(), "worker_died")[0]["fields"]["pid"] == victim
    assert lines[-1]["event"] == "stopped" and lines[-1]["process"] == "supervisor"


def test_in_text_mode_an_event_of_every_worker_is_one_line(start_ops):
    server = start_ops(RULES, workers=2)
    assert server.stop() == 0, server.log()
    assert server.log().count("rules loaded from") == 1
    assert server.log().count("stopping: letting calls in flight finish") == 1
    assert "discretion: serving on 127.0.0.1:" in server.log()


def test_the_level_leaves_out_what_is_below_it_but_never_where_it_listens(start_ops):
    server = start_ops(RULES, "--log-level", "warning", "--log-format", "json", workers=2)
    assert server.stop() == 0, server.log()
    said = [line["event"] for line in json_lines(server.log())]
    assert "rules_loaded" not in said and "stopping" not in said
    assert said.count("listening") == 2 and said[-1] == "stopped"  # gRPC and metrics; then the end


def test_debug_shows_every_workers_reloads(start_ops):
    server = start_ops(RULES, "--log-level", "debug", "--log-format", "json", workers=2)
    assert server.stop() == 0, server.log()
    loaded = events(server.log(), "rules_loaded")
    assert sorted((line["process"], line["level"]) for line in loaded) == [("worker-0", "info"),
                                                                           ("worker-1", "debug")]


def serve_and_fail(*extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "discretion", "serve", "--rules", str(RULES), "--address",
                           "127.0.0.1:0", "--metrics-address", "off", *extra], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_a_server_that_cannot_start_says_why_in_the_logs_format():
    result = serve_and_fail("--log-format", "json", "--tls-cert", "cert.pem")
    assert result.returncode == 2
    [line] = json_lines(result.stderr)
    assert (line["level"], line["event"]) == ("error", "cannot_start")
    assert "--tls-cert and --tls-key go together" in line["message"]
    taken = serve_and_fail("--log-format", "json", "--workers", "1", "--address", "256.0.0.1:1")
    assert taken.returncode == 2
    assert [line["event"] for line in json_lines(taken.stderr)][-1] == "cannot_start"


def test_a_log_format_or_level_from_the_environment_is_checked_too():
    result = serve_and_fail(env={"DISCRETION_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert "--log-format is one of text, json, not `xml`" in result.stderr
    result = serve_and_fail(env={"DISCRETION_LOG_LEVEL": "verbose"})
    assert result.returncode == 2 and "--log-level" in result.stderr


def test_a_tenants_reload_is_one_named_event_and_each_worker_says_it_at_debug(start_ops, tmp_path):
    tenants = tmp_path / "tenants.yaml"
    entry = {"id": "forum", "tokens": ["0" * 64], "groups": ["g-forum-*"], "agreements": ["chatham-house"]}
    tenants.write_text(json.dumps({"tenants": [entry]}))
    server = start_ops(RULES, "--tenants", str(tenants), "--log-format", "json", "--log-level", "debug", workers=2)
    tenants.write_text(json.dumps({"tenants": [entry, {**entry, "id": "newsroom", "tokens": ["1" * 64],
                                                       "groups": ["g-news-*"]}]}))
    eventually(lambda: len(events(server.log(), "tenants_reloaded")) == 3)
    tenants.write_text("tenants: [")
    eventually(lambda: len(events(server.log(), "tenants_not_reloaded")) == 3)
    assert server.stop() == 0, server.log()
    for name, level in (("tenants_reloaded", "info"), ("tenants_not_reloaded", "error")):
        said = events(server.log(), name)
        # The supervisor reads the file for the workers it will restart, and says what all of them read.
        assert sorted((line["process"], line["level"]) for line in said) == [
            ("supervisor", level), ("worker-0", "debug"), ("worker-1", "debug")], said
    reloaded = events(server.log(), "tenants_reloaded")[0]
    assert reloaded["fields"] == {"file": str(tenants), "tenants": 2}


def test_every_record_the_server_writes_names_its_event():
    """A collector counts events by name: no log call of the package leaves its record as `message`,
    and the README's table names every event there is, and no other."""
    import ast

    unnamed = []
    names = set()
    for path in sorted((ROOT / "service" / "discretion").rglob("*.py")):
        if "_gen" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            logged = (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                      and node.func.value.id == "log"
                      and node.func.attr in {"debug", "info", "warning", "error", "exception", "critical", "log"})
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if logged and not (isinstance(keywords.get("extra"), ast.Call)
                               and getattr(keywords["extra"].func, "id", "") == "event"):
                unnamed.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node.func, ast.Name) and node.func.id == "said" and "event_name" not in keywords:
                unnamed.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node.func, ast.Name) and node.func.id == "event" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                names.add(node.args[0].value)
            if isinstance(keywords.get("event_name"), ast.Constant):
                names.add(keywords["event_name"].value)
    assert unnamed == []
    text = README.read_text()
    table = text[text.index("| events | about |"):]
    table = table[:table.index("\n\n")]
    assert set(re.findall(r"`([a-z_]+)`", table)) == names
