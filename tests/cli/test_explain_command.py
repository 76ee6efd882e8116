"""`discretion explain`: the API's explain trace, grouped per item for a person to read."""

from __future__ import annotations

import re

from discretion.author.explain import read_request
from discretion.engine import decide
from discretion.store import compile_directory

from .conftest import RULES, installed, invoke

POLICY = compile_directory(RULES)
REQUEST = """fixtures:
  people:
    chen: {id: u-chen, display_name: Li Chen, organization: Northwind Bank}
request:
  action: quote
  requested_at: 2026-03-02T09:00:00Z
  actor: {id: u-ana, member: true}
  group: {id: g, adoptions: [{agreement: chatham-house, version: 1, effective_from: 2026-02-01T00:00:00Z}]}
  items:
    - {id: m-1, author: chen, posted_at: 2026-03-01T10:00:00Z, session: {speaker_count: 4}}
    - {id: m-2, author: chen, posted_at: 2026-03-01T10:00:00Z, session: {speaker_count: 1}}
  destination: {kind: public}
  attribution: {author_identity: true}
"""


def _request_file(tmp_path, text=REQUEST):
    path = tmp_path / "request.yaml"
    path.write_text(text)
    return path


def test_every_line_of_the_api_trace_is_shown_under_its_item(tmp_path):
    result = invoke("explain", _request_file(tmp_path), "--rules", RULES)
    assert result.code == 0, result.err
    trace = decide(POLICY, read_request(REQUEST, "r.yaml"), now=0, tracer=[]).explanation
    sections = dict(re.findall(r"^item (\S+): .*?\n(.*?)(?=\n\n)", result.out, re.S | re.M))
    assert sections.keys() == {"m-1", "m-2"}
    for line in trace:
        if line.startswith("decision: "):
            assert line in result.out
            continue
        item, _, rest = line.strip().removeprefix("item ").partition(": ")
        where, _, what = rest.partition(": ")
        if rest.startswith("governed by"):
            assert f"  {rest}\n" in sections[item] + "\n"
        elif "@" in where:
            shown = next(line for line in sections[item].splitlines() if line.strip().startswith(where + " "))
            assert shown.split(None, 1)[1] == what.removeprefix("not applicable, "), line
        else:
            assert f"item {item}: {rest}\n" in result.out, line


def test_the_rendering_names_versions_rules_failed_conditions_and_obligations(tmp_path):
    out = invoke("explain", _request_file(tmp_path), "--rules", RULES).out
    assert out.startswith("quote of 2 items to public by u-ana at 2026-03-02T09:00:00Z\n\nitem m-1: allowed, owes ")
    m1 = out.split("item m-1: ", 1)[1].split("\n\n", 1)[0]
    assert "  governed by chatham-house@1, " in m1
    assert "  decided:\n" in m1 and "  did not apply:\n" in m1
    assert re.search(r"\n    chatham-house@1/identified-by-context +`item.session.speaker_count: 1` does not hold", m1)
    m2 = out.split("item m-2: ", 1)[1].split("\n\n", 1)[0]
    assert m2.startswith("deny\n") and re.search(r"chatham-house@1/identified-by-context +deny \[identified_by_context\]", m2)
    assert out.endswith("decision: deny\n  reason: denied: the session had a single speaker, so anything reported "
                        "from it identifies them\n")


def test_obligations_are_listed_with_what_they_cover(tmp_path):
    single = REQUEST.replace("    - {id: m-2, author: chen, posted_at: 2026-03-01T10:00:00Z, session: {speaker_count: 1}}\n", "")
    out = invoke("explain", _request_file(tmp_path, single), "--rules", RULES).out
    assert "decision: allow_with_obligations\n  obligations:\n    redact_author_identity  items m-1; people u-chen\n" in out


def test_a_case_of_a_suite_by_name_number_or_prefix():
    suite = RULES / "chatham-house.test.yaml"
    by_number = invoke("explain", suite, "--case", "1", "--rules", RULES)
    assert by_number.code == 0, by_number.err
    name = invoke("explain", suite, "--case", "quoting the content without a name", "--rules", RULES)
    assert name.out == by_number.out
    wrong = invoke("explain", suite, "--case", "no such case at all", "--rules", RULES)
    assert wrong.code == 2 and "no case named `no such case at all` [bad_request]" in wrong.err
    several = invoke("explain", suite, "--rules", RULES)
    assert several.code == 2 and "name one with `--case`" in several.err


def test_a_malformed_request_is_reported_at_its_line(tmp_path):
    path = _request_file(tmp_path, REQUEST.replace("attribution: {author_identity: true}", "attribution: {author: true}"))
    result = invoke("explain", path, "--rules", RULES)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"{path}:13:17: unknown field `author` at `attribution.author` [bad_request]\n")


def test_without_a_time_the_request_is_decided_at_now(tmp_path):
    path = _request_file(tmp_path, REQUEST.replace("  requested_at: 2026-03-02T09:00:00Z\n", ""))
    result = invoke("explain", path, "--rules", RULES, "--now", "2026-05-01T00:00:00Z")
    assert result.out.startswith("quote of 2 items to public by u-ana at 2026-05-01T00:00:00Z\n")


def test_the_installed_command_reads_standard_input():
    result = installed("explain", "-", "--rules", RULES, stdin=REQUEST)
    assert result.code == 0, result.err
    assert "\nitem m-2: deny\n" in result.out and result.out.endswith("identifies them\n")


TLP_REQUEST = """fixtures:
  people:
    src: {id: u-src, organization: Acme CERT}
request:
  action: share
  requested_at: 2026-03-02T00:00:00Z
  actor: {id: u-me, member: true}
  group: {id: g, adoptions: [{agreement: tlp, version: 1, effective_from: 2026-01-01T00:00:00Z}]}
  items:
    - id: i-1
      author: src
      posted_at: 2026-03-01T00:00:00Z
      labels: [{scheme: tlp, value: amber}]
      consents: [{by: u-src, scope: share_outside}, {by: u-src, scope: export}]
  destination: {kind: public}
"""


def test_a_consent_no_rule_reads_is_noted_with_the_scope_the_rules_read(tmp_path):
    result = invoke("explain", _request_file(tmp_path, TLP_REQUEST), "--rules", RULES)
    assert result.code == 0, result.err
    assert "\ndecision: deny\n" in result.out
    notes = result.out.split("\n\n")[-1]
    assert notes == (
        "note: consent `share_outside` by `u-src` on item `i-1` is read by no rule that can decide it under "
        "tlp@1, data-rights@1, platform-baseline@1; expected one of `attribution`, `listing`, `new_terms`, "
        "`service_access`, `share_beyond_label`\n"
        "note: consent `export` by `u-src` on item `i-1` is read by no rule of the loaded policy; "
        "expected one of `attribution`, `listing`, `new_terms`, `service_access`, `share_beyond_label`\n")
    permitted = TLP_REQUEST.replace("[{by: u-src, scope: share_outside}, {by: u-src, scope: export}]",
                                    "[{by: u-src, scope: share_beyond_label}]")
    out = invoke("explain", _request_file(tmp_path, permitted), "--rules", RULES).out
    assert "\ndecision: allow_with_obligations\n" in out and "note:" not in out


def test_spans_outside_the_quote_say_which_field_they_point_into(tmp_path):
    text = REQUEST.replace("action: quote", "action: share").replace(
        "session: {speaker_count: 4}}", "session: {speaker_count: 4}, text: \"as Chen said\"}").replace(
        "attribution: {author_identity: true}", "attribution: {descriptor: \"Li Chen's team\"}").replace(
        "    - {id: m-2, author: chen, posted_at: 2026-03-01T10:00:00Z, session: {speaker_count: 1}}\n", "")
    result = invoke("explain", _request_file(tmp_path, text), "--rules", RULES)
    assert "text items[m-1].text 3–7 (name), attribution.descriptor 0–7 (name)" in result.out, result.out
