"""Hostile request files and replay files: every author tool answers with a diagnostic and its exit code.

Each command runs installed, as a separate process, as an author or a CI job
runs it: what is asserted is what they see — the exit code (2 for a file that
cannot be read as a request, never 1, which `diff` keeps for "changed"), a
diagnostic naming the file, line and column with its code, and no traceback.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess

import pytest

from .conftest import DISCRETION, RULES, Result, installed

REQUEST = """action: share
requested_at: 2026-03-02T09:00:00Z
actor: {id: u-ana, member: true}
group: {id: g-1, adoptions: [{agreement: chatham-house, version: 1}]}
destination: {kind: public}
items: [{id: m-1, author: {id: u-chen}, posted_at: 2026-03-01T10:00:00Z}]
"""
REQUEST_DATA = {"action": "share", "requested_at": "2026-03-02T09:00:00Z", "actor": {"id": "u-ana", "member": True},
                "group": {"id": "g-1", "adoptions": [{"agreement": "chatham-house", "version": 1}]},
                "destination": {"kind": "public"},
                "items": [{"id": "m-1", "author": {"id": "u-chen"}, "posted_at": "2026-03-01T10:00:00Z"}]}


def _refused(result: Result, code: str) -> list[tuple[int, int]]:
    """Assert a refusal without a traceback; the (line, column) of each `code` diagnostic in stderr."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err and "Error:" not in result.err, result.err
    return [(int(line), int(column)) for line, column in re.findall(rf":(\d+):(\d+): .*\[{code}\]$", result.err, re.M)]


def _explain(tmp_path, text: str | bytes, name: str = "request.yaml") -> Result:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return installed("explain", path, "--rules", RULES)


def _replay(tmp_path, text: str | bytes, name: str = "requests.jsonl") -> Result:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return installed("diff", RULES, RULES, "--replay", path)


def test_the_request_as_written_is_explained(tmp_path):
    """The baseline every hostile variant below changes one thing of."""
    assert _explain(tmp_path, REQUEST).code == 0
    assert _replay(tmp_path, json.dumps(REQUEST_DATA) + "\n").code == 0


# ---- numbers that are not finite ------------------------------------------------------


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN"])
def test_a_time_that_is_not_finite_is_refused_where_it_is(tmp_path, value):
    text = REQUEST.replace("posted_at: 2026-03-01T10:00:00Z", f"posted_at: {value}")
    result = _explain(tmp_path, text)
    assert _refused(result, "not_finite") == [(6, text.splitlines()[5].index(value) + 1)]
    assert f"`{value}` is not a finite number" in result.err


def test_a_number_that_is_not_finite_is_refused_anywhere_in_a_request(tmp_path):
    result = _explain(tmp_path, REQUEST + "attributes: {risk: [1, .nan]}\n")
    assert _refused(result, "not_finite") == [(7, len("attributes: {risk: [1, ") + 1)]


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1e400"])
def test_a_replayed_json_line_with_a_number_that_is_not_finite_is_refused(tmp_path, value):
    line = json.dumps(REQUEST_DATA).replace('"2026-03-01T10:00:00Z"', value)
    result = _replay(tmp_path, json.dumps(REQUEST_DATA) + "\n" + line + "\n")
    assert result.code == 2 and "Traceback" not in result.err
    assert f"requests.jsonl:2:{line.index(value) + 1}: `" in result.err and "is not a finite number" in result.err


# ---- cycles and depth -----------------------------------------------------------------


@pytest.mark.parametrize("cycle", ["items: &a [*a]", "items: [{id: m-1, labels: &l [{scheme: tlp, params: *l}]}]",
                                   "group: &g {id: g-1, adoptions: *g}"])
def test_an_alias_cycle_is_refused_where_the_alias_is(tmp_path, cycle):
    field = cycle.split(":", 1)[0]
    text = "\n".join(cycle if line.startswith(field + ":") else line for line in REQUEST.splitlines()) + "\n"
    result = _explain(tmp_path, text)
    assert len(_refused(result, "yaml_alias")) == 1


def test_a_replayed_alias_cycle_is_a_refusal_not_a_change(tmp_path):
    result = _replay(tmp_path, REQUEST.replace("items: [{id: m-1", "items: &a [*a, {id: m-1"), "requests.yaml")
    assert result.code == 2 and "Traceback" not in result.err
    assert "requests.yaml:6:8: yaml aliases are not allowed" in result.err


@pytest.mark.parametrize("name", ["request.yaml", "request.json"])
def test_a_request_nested_a_thousand_deep_is_too_deep(tmp_path, name):
    deep = "[" * 1000 + "]" * 1000
    text = (REQUEST + f"attributes: {{x: {deep}}}\n") if name.endswith(".yaml") else json.dumps(
        {**REQUEST_DATA, "attributes": {"x": "DEEP"}}).replace('"DEEP"', deep)
    result = _explain(tmp_path, text, name)
    [(line, _column)] = _refused(result, "too_deep")
    assert line == (7 if name.endswith(".yaml") else 1)


def test_a_request_nested_past_the_bound_is_refused_at_the_level_past_it(tmp_path):
    result = _explain(tmp_path, REQUEST + "attributes: {x: " + "[" * 60 + "]" * 60 + "}\n")
    assert _refused(result, "too_deep") == [(7, 17 + 46)]  # `attributes` and `x` are the first two levels
    assert "nested 49 levels deep, more than the 48 a file may be" in result.err


@pytest.mark.parametrize("shape", ["[", '{"a": '])
def test_a_replayed_json_line_nested_a_thousand_deep_is_a_refusal_not_a_change(tmp_path, shape):
    closing = "]" if shape == "[" else "}"
    line = json.dumps({**REQUEST_DATA, "attributes": {"x": "DEEP"}}).replace(
        '"DEEP"', shape * 1000 + ("1" if shape != "[" else "") + closing * 1000)
    result = _replay(tmp_path, json.dumps(REQUEST_DATA) + "\n" + line + "\n")
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    # The 49th level opens at the 47th bracket after those of the line and of `attributes`.
    assert f"requests.jsonl:2:{line.index(shape * 1000) + len(shape) * 46 + 1}: nested deeper than the 48 levels a " \
           "file may be" in result.err


def test_a_decision_log_line_nested_deep_is_a_refusal_not_a_change(tmp_path):
    line = '{"decision": "allow", "action": "share", "destination_kind": "public", "agreements": ' + \
        "[" * 900 + "]" * 900 + "}"
    result = _replay(tmp_path, line + "\n", "decisions.jsonl")
    assert result.code == 2 and "Traceback" not in result.err
    assert "decisions.jsonl:1:" in result.err and "levels deep, more than the 48 a file may be" in result.err


# ---- bytes that are not text ----------------------------------------------------------


def test_a_request_file_that_is_not_utf8_is_refused_where_the_bad_byte_is(tmp_path):
    result = _explain(tmp_path, REQUEST.encode().replace(b"u-ana", b"u-an\xe1"))
    assert _refused(result, "encoding") == [(3, 17)]


@pytest.mark.parametrize("name", ["requests.yaml", "requests.jsonl"])
def test_a_replay_file_that_is_not_utf8_is_a_refusal_not_a_change(tmp_path, name):
    result = _replay(tmp_path, b"\xff\xfe" + REQUEST.encode("utf-16-le"), name)
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{name}:1:1: the file is not utf-8" in result.err


def test_a_number_too_long_to_read_is_refused(tmp_path):
    text = REQUEST.replace("version: 1", "version: " + "9" * 5000)
    result = _explain(tmp_path, text)
    assert _refused(result, "yaml_syntax") == [(4, text.splitlines()[3].index("999") + 1)]
    line = json.dumps(REQUEST_DATA).replace('"version": 1', '"version": ' + "9" * 5000)
    replayed = _replay(tmp_path, line + "\n")
    assert replayed.code == 2 and "a number too long to read" in replayed.err


# ---- values the wire's types cannot carry ---------------------------------------------

ODD_VALUES = [
    # (what the request's lines become, the line at fault, the code, what the message says)
    ({"items": "items: [{id: [m-1, m-2]}]"}, 6, "bad_request", "expected text, not a list at `items[0].id`"),
    ({"items": "items: [{id: ~}]"}, 6, "bad_request", "expected text, not null at `items[0].id`"),
    ({"group": "group: {id: g-1, adoptions: [{agreement: chatham-house, version: 4294967296}]}"}, 4, "bad_request",
     "expected a whole number from 0 to 4294967295, not `4294967296`"),
    ({"group": "group: {id: g-1, adoptions: [{agreement: chatham-house, version: -1}]}"}, 4, "bad_request",
     "expected a whole number from 0 to 4294967295, not `-1`"),
    ({"requested_at": "requested_at: 9999-12-31T23:00:00-05:00"}, 2, "bad_request",
     "is outside the times a request can carry (0001-01-01 to 9999-12-31 UTC) at `requested_at`"),
    ({"items": "items: [{id: m-1, posted_at: 100000000000000000000}]"}, 6, "bad_request",
     "is outside the times a request can carry"),
    ({"items": "items: [{id: m-1, posted_at: yes}]"}, 6, "bad_request",
     "expected a time (ISO 8601 text with a zone, or POSIX seconds), not `true`"),
    ({"items": "items: [{id: m-1, kind: memo}]"}, 6, "bad_request", "`memo` is not one of `message`, "),
    ({"destination": "destination: {kind: ai_tool, service: {may_train: maybe}}"}, 5, "bad_request",
     "expected true or false, not `maybe` at `destination.service.may_train`"),
    ({"items": "items: [{id: m-1}]\nattributes: {x: !!binary aGVsbG8=}"}, 7, "yaml_syntax",
     "the tag `tag:yaml.org,2002:binary` is not read"),
    ({"items": "items: [!!python/object:os.system {id: m-1}]"}, 6, "yaml_syntax",
     "the tag `tag:yaml.org,2002:python/object:os.system` is not read"),
    ({"action": "base: [quoting]\nfixtures: {requests: {quoting: {action: quote}}}"}, 1, "bad_request",
     "expected the name of a requests fixture, not a list at `base`"),
    ({"action": "action: share\nfixtures: [ana]"}, 2, "bad_request", "expected a mapping of kinds"),
    ({"actor": "actor: ana\nfixtures: {people: [ana]}"}, 4, "bad_request",
     "`fixtures.people` is not a mapping of names to fixtures"),
]


@pytest.mark.parametrize(("lines", "line", "code", "message"), ODD_VALUES, ids=[m for *_, m in ODD_VALUES])
def test_a_value_the_wire_cannot_carry_is_refused_at_its_line(tmp_path, lines, line, code, message):
    text = "\n".join(lines.get(field.split(":")[0], field) for field in REQUEST.splitlines()) + "\n"
    result = _explain(tmp_path, text)
    [(found, _)] = _refused(result, code)
    assert found == line and message in result.err, result.err


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_a_now_outside_what_a_time_can_be_is_a_usage_error(tmp_path, now):
    path = tmp_path / "request.yaml"
    path.write_text(REQUEST.replace("requested_at: 2026-03-02T09:00:00Z\n", ""))
    for argv in (("explain", path, "--rules", RULES, "--now", now), ("diff", RULES, RULES, "--now", now)):
        result = installed(*argv)
        assert result.code == 2 and "Traceback" not in result.err
        assert result.err == f"error: --now: `{now}` is outside the times a request can carry (0001-01-01 to " \
                             "9999-12-31 UTC)\n"


# ---- what the tools cannot write --------------------------------------------------------


def test_an_output_file_that_cannot_be_written_is_a_usage_error(tmp_path):
    result = installed("matrix", "chatham-house", "--rules", RULES, "--output", tmp_path / "missing" / "page.html")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err == f"error: cannot write `{tmp_path / 'missing' / 'page.html'}`: No such file or directory\n"


@pytest.mark.skipif(not pathlib.Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_failure_of_the_tool_itself_is_70_and_a_message_never_1_and_a_traceback():
    """A full disk under standard output: nothing in the files is wrong, and `diff` must not read "changed"."""
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(DISCRETION), "matrix", "chatham-house", "--rules", str(RULES)], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 70 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: `discretion matrix` failed: OSError: [Errno 28] No space left on device\n"
                                  "  help: unless that is about this system (a full disk, a closed output), it is a "
                                  "fault of discretion")


@pytest.mark.parametrize("version", ["9" * 5000, "١"])
def test_a_matrix_version_that_is_no_number_of_a_few_digits_is_unknown(version):
    result = installed("matrix", f"chatham-house@{version}", "--rules", RULES)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith(f"error: `chatham-house` has no version `{version}`\n")
