"""A suite case written as the wire's JSON (`wire:`): read and checked as the server reads it, decided as the
suite's own words are. Run through the installed `discretion`, as CI runs it."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format

from discretion.author.workspace import find_suites, load_suite
from discretion.errors import RequestInvalid
from discretion.policy.requests import RequestDataError
from discretion.policy.suites import case_request
from discretion.server import convert

from .conftest import RULES, installed


def _wire_cases(path) -> tuple[list[dict], int]:
    """The suite's cases, each written as the wire's JSON where the wire can say it and a server takes it; and
    how many could not be (a suite may test a word no enum has, or a request the server refuses)."""
    document, _ = load_suite(path)
    cases, left = [], 0
    for index, case in enumerate(document.data["cases"]):
        try:
            request = case_request(document, index)
            message = convert.request_to_proto(request)
            convert.request_from_proto(message)
        except (RequestDataError, RequestInvalid, ValueError):
            left += 1
            continue
        cases.append({"name": case["name"], "wire": json_format.MessageToDict(message), "expect": case["expect"]})
    return cases, left


def test_every_shipped_case_written_as_the_wire_json_is_decided_as_written_in_the_suite(rules_copy):
    total = left = 0
    for path in find_suites(RULES):
        cases, skipped = _wire_cases(path)
        total, left = total + len(cases), left + skipped
        suite = {"suite": f"{path.stem} on the wire", "cases": cases}
        (rules_copy / f"wire-{path.name}").write_text(json.dumps(suite, indent=1, ensure_ascii=False))
    assert total > 20 * left, (total, left)  # nearly every case: the property covers the library

    result = installed("test", rules_copy)

    assert result.code == 0, result.out[-3000:] + result.err
    passed = sum(int(line.split()[1]) for line in result.out.splitlines() if line.startswith(str(rules_copy / "wire-")))
    assert passed == total


def test_a_wire_case_that_expects_what_the_server_does_not_decide_fails(rules_copy):
    path = next(p for p in find_suites(RULES) if p.stem.startswith("tlp"))
    cases, _ = _wire_cases(path)
    flipped = [dict(case, expect={"decision": "allow" if case["expect"]["decision"] == "deny" else "deny"})
               for case in cases]
    (rules_copy / "wire-tlp.test.yaml").write_text(json.dumps({"suite": "flipped", "cases": flipped}))

    result = installed("test", rules_copy / "wire-tlp.test.yaml")

    assert result.code == 4
    assert f"0 passed, {len(flipped)} failed" in result.out


WIRE_SUITE = """suite: wire
cases:
  - name: refused at the door
    wire:
      action: ACTION_SHARE
      actor: {id: u-ana}
      group: {id: g, adoptions: [{agreement: tlp, version: 1}]}
      items:
        - {id: m-1, postedAt: "2026-03-01T00:00:00Z"}
        - {id: m-1, postedAt: "2026-03-01T00:00:00Z"}
      destination: {kind: DESTINATION_KIND_PUBLIC}
    expect: {decision: deny}
  - name: no CheckRequest
    wire: {action: ACTION_SHARE, actr: {id: u-ana}}
    expect: {decision: deny}
  - name: both
    request: {action: share}
    wire: {action: ACTION_SHARE}
    expect: {decision: deny}
  - name: neither
    expect: {decision: deny}
"""


@pytest.mark.parametrize("command", ["lint", "test"])
def test_what_is_wrong_with_a_wire_case_is_said_at_its_place(rules_copy, command):
    (rules_copy / "wire.test.yaml").write_text(WIRE_SUITE)

    result = installed(command, rules_copy)
    said = result.out + result.err

    assert result.code == 3, said
    where = str(rules_copy / "wire.test.yaml")
    # The server names the second item's id; the error sits on that item, not on the whole request.
    assert f"{where}:10:16: duplicate item id `m-1`, first at `items[0]` at `items[1].id` [invalid_request]" in said
    assert "INVALID_ARGUMENT naming `items[1].id`" in said
    assert f"{where}:14:11: does not read as a CheckRequest" in said and "actr" in said
    assert f"{where}:18:5: cases[2] has `request` and `wire`: it takes one [conflicting_fields]" in said
    assert f"{where}:20:5: missing field `request` or `wire` in cases[3] [missing_field]" in said


def test_a_wire_case_is_decided_at_its_own_time_however_far_from_the_clock(rules_copy):
    """A suite means the same on every run: no clock skew check, the stated `requestedAt` decided at."""
    suite = WIRE_SUITE.split("  - name: no CheckRequest")[0].replace(
        "        - {id: m-1, postedAt: \"2026-03-01T00:00:00Z\"}\n", "", 1)
    suite = suite.replace("      action: ACTION_SHARE\n", "      action: ACTION_SHARE\n"
                                                         "      requestedAt: \"2100-01-01T00:00:00Z\"\n")
    (rules_copy / "wire.test.yaml").write_text(suite.replace("refused at the door", "a century ahead of the suite's instant"))

    result = installed("test", rules_copy / "wire.test.yaml")

    assert result.code == 0, result.out + result.err
