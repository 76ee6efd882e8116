"""`discretion test`: suites beside the agreements, a clear diff on failure, coverage of rules and conditions."""

from __future__ import annotations

import dataclasses

from discretion.author.coverage import Coverage
from discretion.author.testing import run_tests
from discretion.author.workspace import find_suites, load_rules, load_suite
from discretion.policy.suites import run_suite

from .conftest import RULES, installed, invoke

AGREEMENT = """agreement: ask
title: Ask
summary: s
versions:
  - version: 1
    rules:
      - id: with-consent
        destinations: {except: [same_group]}
        when: {any: [{author_consented: share_outside}, {actor_is_author: true}]}
        effect: allow
        reason: {code: consented, message: the author agreed}
      - id: never-to-ai
        destinations: [ai_tool]
        effect: deny
        reason: {code: no_ai, message: no AI tools}
"""
SUITE = """suite: ask
fixtures:
  people:
    ana: {id: u-ana, member: true}
    bo: {id: u-bo, member: true}
  groups:
    g: {id: g, adoptions: [{agreement: ask}]}
  items:
    asked: {id: i1, author: bo, posted_at: 2026-01-01T00:00:00Z, consents: [{by: u-bo, scope: share_outside}]}
  requests:
    share: {action: share, actor: ana, group: g, items: [asked], destination: {kind: public}}
cases:
  - name: with consent it may go
    request: {base: share}
    expect: {decision: allow, reasons: [consented]}
  - name: nothing permits it to go to the group
    request: {base: share, destination: {kind: same_group}}
    expect: {decision: deny, reasons: [not_permitted]}
"""


def _folder(tmp_path, suite=SUITE):
    (tmp_path / "ask.yaml").write_text(AGREEMENT)
    (tmp_path / "ask.test.yaml").write_text(suite)
    return tmp_path


def test_every_shipped_rule_is_exercised_by_the_shipped_suites():
    run = run_tests(RULES, coverage=True)
    assert run.rules.ok and run.suites
    report = run.coverage.report()
    never = [use.key for agreement in report for use in agreement.rules if not use.exercised]
    assert never == [] and sum(len(a.rules) for a in report) >= 30


def test_coverage_does_not_change_a_single_decision():
    """Coverage reads traced decisions: each the same as the one decided untraced."""
    rules = load_rules(RULES)
    recorder = Coverage(rules.policy, rules.documents)
    for path in find_suites(RULES):
        document, _ = load_suite(path)
        traced = run_suite(document, rules.policy, traced=recorder.record)
        plain = run_suite(document, rules.policy)
        assert [dataclasses.replace(r.decision, explanation=(), trace=()) if r.decision else None for r in traced] == [
            r.decision for r in plain], path.name
        assert all(r.decision is None or r.decision.trace for r in traced)
    assert sum(use.applied for use in recorder.uses.values()) > 100


def test_passing_suites_with_coverage_name_what_no_case_exercised(tmp_path):
    result = invoke("test", "--coverage", _folder(tmp_path))
    assert result.code == 0, result.out
    assert f"{tmp_path}/ask.test.yaml  2 passed" in result.out
    assert "  ask@1      1/2 50%  2/6 33.3%" in result.out
    # Line 12 of the agreement is the `never-to-ai` rule's id; line 9 the condition of the other.
    assert f"{tmp_path}/ask.yaml:12:13: rule `never-to-ai` never applied" in result.out
    assert f"{tmp_path}/ask.yaml:9:58: `actor_is_author: true` was never evaluated (rule `with-consent`)" in result.out
    assert (f"{tmp_path}/ask.yaml:9:16: `any: [{{author_consented: share_outside}}, {{actor_is_author: true}}]` "
            "never failed") in result.out
    assert result.out.endswith("2 passed\n")


def test_below_the_minimum_coverage_fails(tmp_path):
    result = invoke("test", "--min-coverage", "100", _folder(tmp_path))
    assert result.code == 4
    assert "rule coverage 50% is below the minimum 100%" in result.out
    assert invoke("test", "--min-coverage", "50", tmp_path).code == 0


def test_a_failing_case_shows_what_differs_and_why(tmp_path):
    broken = SUITE.replace("expect: {decision: allow, reasons: [consented]}",
                           "expect: {decision: deny, obligations: [add_notice], reasons: [no_ai]}")
    result = invoke("test", _folder(tmp_path, broken))
    assert result.code == 4
    assert f"FAIL {tmp_path}/ask.test.yaml:13: with consent it may go" in result.out
    block = result.out.split("FAIL ", 1)[1]
    assert "  - decision: `deny`\n  + decision: `allow`\n" in block
    assert "  - obligations: [`add_notice`]\n  + obligations: []\n" in block
    assert "  - reasons: to include [`no_ai`]\n  + reasons: [`consented`]\n" in block
    assert "  reason: allowed: the author agreed\n" in block
    assert "  decided by: ask@1/with-consent allow [consented]" in block
    assert result.out.endswith("1 passed, 1 failed\n")


def test_a_suite_with_errors_is_reported_where_they_are(tmp_path):
    result = invoke("test", _folder(tmp_path, SUITE.replace("request: {base: share}", "request: {base: shar}")))
    assert result.code == 3
    assert f"{tmp_path}/ask.test.yaml:14:21: no requests fixture named `shar` at `base` [bad_request]" in result.out


def test_a_suite_file_alone_covers_the_agreement_beside_it(rules_copy):
    result = invoke("test", "--coverage", rules_copy / "no-ai.test.yaml")
    assert result.code == 0
    table = result.out.split("coverage of", 1)[1]
    assert "no-ai@1" in table and "chatham-house@1" not in table


def test_the_installed_command_passes_the_shipped_suites_at_full_rule_coverage():
    result = installed("test", "--min-coverage", "100", RULES)
    assert result.code == 0, result.out + result.err
    _, rules, percent, *_ = next(line for line in result.out.splitlines() if line.startswith("  all  ")).split()
    exercised, total = rules.split("/")
    assert exercised == total and percent == "100%"
    assert result.out.splitlines()[-1].endswith(" passed")


def test_two_obligations_of_one_type_are_each_matched_by_their_parameters():
    from discretion.engine.model import Decision, Obligation
    from discretion.policy.suites import compare

    decision = Decision("allow_with_obligations", (Obligation("add_notice", notice="personal_use_only"),
                                                   Obligation("add_notice", notice="chatham_house_rule")), (), (), "", "")
    both = [{"type": "add_notice", "notice": "chatham_house_rule"}, {"type": "add_notice", "notice": "personal_use_only"}]
    assert compare({"decision": "allow_with_obligations", "obligations": both}, decision) == []
    wrong = [{"type": "add_notice", "notice": "chatham_house_rule"}, {"type": "add_notice", "notice": "embargoed_until"}]
    (mismatch,) = compare({"decision": "allow_with_obligations", "obligations": wrong}, decision)
    assert (mismatch.field, mismatch.expected, mismatch.got) == ("obligations.add_notice.notice", "`embargoed_until`",
                                                                 "`personal_use_only`")


def test_an_expected_time_is_written_as_a_request_time_and_compared_to_the_nanosecond():
    from discretion.engine.instants import parse_iso
    from discretion.engine.model import Decision, Obligation
    from discretion.policy.suites import compare

    held = Obligation("hold_until", until=parse_iso("2026-03-05T00:00:00.000000001Z"))
    decision = Decision("allow_with_obligations", (held,), (), (), "", "")

    def expecting(until) -> list:
        return compare({"decision": "allow_with_obligations", "obligations": [{"type": "hold_until", "until": until}]},
                       decision)

    assert expecting("2026-03-05T01:00:00.000000001+01:00") == []
    (mismatch,) = expecting(1772668800)  # POSIX seconds: one nanosecond early
    assert (mismatch.field, mismatch.expected, mismatch.got) == ("obligations.hold_until.until", "`1772668800`",
                                                                 "`2026-03-05T00:00:00.000000001Z`")
