"""Hot reload: a broken change keeps the last good rules serving, under traffic, with a ConfigMap's symlink swap."""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import discretion_client as dc
from discretion.store.files import compile_directory

from .conftest import RULES, chatham_quote, eventually

BROKEN = ("effect: allow\n", "effect: alow\n")  # an unknown effect: the file no longer compiles
NOT_LOADED = r"rules in \S+ not loaded, still serving revision"


def break_file(path: pathlib.Path) -> None:
    path.write_text(path.read_text().replace(*BROKEN, 1))


def test_a_broken_file_under_traffic_fails_no_call(start_ops, rules_copy):
    server = start_ops(rules_copy, "--log-level", "debug")  # every worker's reloads, not worker 0's alone
    good = server.status().policy_revision
    stop = threading.Event()
    outcomes: list[tuple[str, str]] = []  # (decision or error, revision)

    def ask() -> None:
        with dc.Client(server.target, channels=2, timeout=10) as client:
            while not stop.is_set():
                try:
                    decision = client.check(chatham_quote())
                    outcomes.append((decision.decision, decision.policy_revision))
                except dc.DiscretionError as error:
                    outcomes.append((type(error).__name__, ""))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        eventually(lambda: len(outcomes) > 50)
        chatham = rules_copy / "chatham-house.yaml"
        break_file(chatham)
        assert server.wait_for_count(NOT_LOADED, 2), server.log()  # both workers refused it
        status = server.status()
        assert status.policy_revision == good
        errors = [d for d in status.last_error if d.code == "unknown_value"]
        assert errors and errors[0].file.endswith("chatham-house.yaml") and errors[0].line > 0
        calls_while_broken = len(outcomes)
        eventually(lambda: len(outcomes) > calls_while_broken + 50)
        # The metrics follow the log line by an instant.
        eventually(lambda: server.sample("discretion_policy_reloads_total", result="failure") == 2)
        assert server.sample("discretion_policy_last_reload_successful") == 0

        # The fix is picked up by every worker, with a new revision.
        chatham.write_text(chatham.read_text().replace(*reversed(BROKEN), 1)
                           .replace("Chatham House Rule\n", "Chatham House Rule.\n", 1))
        assert server.wait_for_count(r"rules loaded from \S+, revision", 4), server.log()
        eventually(lambda: outcomes[-1][1] not in ("", good))
        eventually(lambda: server.sample("discretion_policy_last_reload_successful") == 1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    failed = [outcome for outcome in outcomes if outcome[0] != "allow_with_obligations"]
    assert not failed, failed[:5]
    assert {revision for _, revision in outcomes} == {good, server.status().policy_revision}
    assert not server.status().last_error


def test_policy_status_names_the_diagnostics_of_a_refused_change(start_ops, rules_copy):
    server = start_ops(rules_copy, workers=1)
    before = server.status()
    assert len(before.policy_revision) == 16 and before.loaded_at.seconds > 0 and not before.last_error
    break_file(rules_copy / "chatham-house.yaml")
    assert server.wait_for_log(NOT_LOADED), server.log()
    after = server.status()
    assert after.policy_revision == before.policy_revision
    assert after.loaded_at == before.loaded_at
    assert after.last_attempt_at.ToNanoseconds() > before.last_attempt_at.ToNanoseconds()
    (diagnostic,) = after.last_error
    assert (diagnostic.code, diagnostic.severity) == ("unknown_value", "error")
    assert "alow" in diagnostic.message and diagnostic.help
    assert diagnostic.file.endswith("chatham-house.yaml") and diagnostic.line > 0 and diagnostic.column > 0
    # The same diagnostics are in the server's log.
    assert f":{diagnostic.line}:{diagnostic.column}: " in server.log()


def test_sighup_reloads_every_worker(start_ops):
    server = start_ops(RULES)
    assert server.sample("discretion_policy_reloads_total", result="success") == 2
    server.signal(signal.SIGHUP)
    eventually(lambda: server.sample("discretion_policy_reloads_total", result="success") == 4)
    assert server.process.poll() is None


# ---- a Kubernetes ConfigMap mount ------------------------------------------------------


def configmap_mount(folder: pathlib.Path, files: dict[str, bytes], stamp: str) -> None:
    """Lay out or update `folder` the way the kubelet does: files in a hidden
    timestamped folder, `..data` pointing at it, each visible name a symlink
    through `..data`, and an update swapping `..data` atomically (a rename)."""
    folder.mkdir(exist_ok=True)
    fresh = folder / f"..{stamp}"
    fresh.mkdir()
    for name, content in files.items():
        (fresh / name).write_bytes(content)
    old = os.readlink(folder / "..data") if (folder / "..data").is_symlink() else None
    (folder / "..data_tmp").symlink_to(fresh.name)
    os.replace(folder / "..data_tmp", folder / "..data")
    for name in files:
        if not (folder / name).is_symlink():
            (folder / name).symlink_to(f"..data/{name}")
    if old:
        shutil.rmtree(folder / old)


def test_a_configmap_update_is_picked_up_and_a_broken_one_refused(start_ops, tmp_path):
    files = {path.name: path.read_bytes() for path in RULES.glob("*.yaml") if not path.name.endswith(".test.yaml")}
    mount = tmp_path / "rules"
    configmap_mount(mount, files, "2026_03_01_00_00_00.000000001")
    server = start_ops(mount, "--log-level", "debug")  # every worker's reloads, not worker 0's alone
    first = server.status().policy_revision

    changed = dict(files)
    title = (b"Chatham House Rule\n", b"Chatham House Rule.\n")
    changed["chatham-house.yaml"] = files["chatham-house.yaml"].replace(*title, 1)
    configmap_mount(mount, changed, "2026_03_02_00_00_00.000000001")
    second = compile_directory(mount).revision
    assert second != first
    assert server.wait_for_count(f"revision {second}", 2), server.log()  # both workers

    broken = dict(changed)
    broken["chatham-house.yaml"] = changed["chatham-house.yaml"].replace(BROKEN[0].encode(), BROKEN[1].encode(), 1)
    configmap_mount(mount, broken, "2026_03_03_00_00_00.000000001")
    assert server.wait_for_count(NOT_LOADED, 2), server.log()
    with dc.Client(server.target) as client:
        assert client.check(chatham_quote()).policy_revision == second
    assert server.status().last_error


def test_health_is_not_serving_until_the_first_good_load(start_ops, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("agreement: [unclosed\n")
    server = start_ops(rules)

    def health(name: str) -> int:
        with grpc.insecure_channel(server.target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            return reply.status

    assert health("") == health("discretion.v1.PolicyService") == health_pb2.HealthCheckResponse.NOT_SERVING
    assert health("liveness") == health_pb2.HealthCheckResponse.SERVING  # alive: no restart would fix the rules
    status = server.status()
    assert status.policy_revision == "" and status.last_error and not status.HasField("loaded_at")
    (rules / "broken.yaml").unlink()
    for path in RULES.glob("*.yaml"):
        shutil.copy(path, rules / path.name)
    eventually(lambda: health("") == health_pb2.HealthCheckResponse.SERVING)


def test_a_storm_of_signals_never_wedges_the_server(start_ops):
    """Handlers run between two bytecodes of the main thread, maybe inside a lock it holds: they take none."""
    for workers in (1, 2):
        server = start_ops(RULES, workers=workers)
        for _ in range(200):
            server.signal(signal.SIGHUP)
            time.sleep(0.001)
        with dc.Client(server.target) as client:
            assert client.check(chatham_quote()).decision == "allow_with_obligations"
        server.signal(signal.SIGTERM)
        assert server.process.wait(30) == 0, server.log()


def _nested(depth: int) -> str:
    """An agreement whose one rule's condition is `not` inside `not`, `depth` times: a few kilobytes."""
    return ("agreement: deep\ntitle: Deep\nsummary: nested\nversions:\n  - version: 1\n    rules:\n"
            "      - id: deep\n        effect: deny\n        reason: {code: deep, message: deep}\n"
            "        when: " + "{not: " * depth + "{action: share}" + "}" * depth + "\n")


def test_a_file_nested_hundreds_deep_is_refused_with_its_place_and_later_changes_still_load(start_ops, rules_copy):
    """A 400-deep file once killed the rules watcher: every later edit was silently never loaded."""
    server = start_ops(rules_copy, workers=1)
    good = server.status().policy_revision
    deep = rules_copy / "deep.yaml"
    deep.write_text(_nested(400))
    assert server.wait_for_log(NOT_LOADED), server.log()
    (diagnostic,) = server.status().last_error
    assert diagnostic.code == "too_deep" and diagnostic.file.endswith("deep.yaml")
    assert (diagnostic.line, diagnostic.column) == (10, 15 + 6 * 43)  # the `{` 48 keys down (`when` is the 5th)
    assert server.status().policy_revision == good
    assert "Traceback" not in server.log()
    # The watcher is alive: the next change is tried, and this one loads.
    deep.write_text(_nested(8))
    eventually(lambda: server.status().policy_revision != good and not server.status().last_error)


def test_hostile_rule_files_are_refused_at_their_place_and_the_watcher_loads_the_next_change(start_ops, rules_copy):
    """Patterns near RE2's limit once put a worker at 472 MiB; an escape sequence in a title reached terminals."""
    server = start_ops(rules_copy, workers=1)
    good = server.status().policy_revision
    hostile = rules_copy / "hostile.yaml"
    rules = "".join(f'      - {{id: r{i}, when: {{quoted_text: {{matches: "(?:\\\\pL|\\\\pN){{{60 + i}}}z"}}}}, '
                    "effect: deny, reason: {code: c, message: m}}\n" for i in range(200))
    hostile.write_text("agreement: hostile\ntitle: H\nsummary: s\nversions:\n  - version: 1\n    rules:\n" + rules)
    assert server.wait_for_log(NOT_LOADED), server.log()
    errors = server.status().last_error
    assert len(errors) == 200 and {e.code for e in errors} == {"pattern_too_large", "pattern_budget"}
    assert (errors[0].file.endswith("hostile.yaml"), errors[0].line, errors[0].rule) == (True, 7, "r0")
    assert server.status().policy_revision == good

    hostile.write_text('agreement: hostile\ntitle: "H \\e[2K\\rallowed"\nsummary: s\nversions: [{version: 1, rules: []}]\n')
    assert server.wait_for_count(NOT_LOADED, 2), server.log()
    (error,) = server.status().last_error
    assert (error.code, error.line, error.column) == ("control_character", 2, 8)
    assert "\x1b" not in server.log()  # the log says where, never the character itself

    # A file's name is the rule author's text too: shown escaped in the log.
    hostile.unlink()
    named = rules_copy / "evil\x1b[2K\rrules loaded.yaml"
    named.write_text("agreement: [unclosed\n")
    assert server.wait_for_count(NOT_LOADED, 3), server.log()
    assert "\x1b" not in server.log() and "\r" not in server.log() and "evil\\x1b[2K\\rrules loaded.yaml" in server.log()
    named.unlink()
    assert server.wait_for_count(r"rules loaded from \S+, revision", 2), server.log()  # the first rules again

    hostile.write_text("agreement: hostile\ntitle: H\nsummary: s\nversions: [{version: 1, rules: []}]\n")
    assert server.wait_for_count(r"rules loaded from \S+, revision", 3), server.log()
    assert server.status().policy_revision not in ("", good) and not server.status().last_error
