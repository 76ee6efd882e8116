"""The compiled form (discretion.ir): golden files of the shipped rules, and an evaluator built from it alone."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from google.protobuf import text_format

from discretion import ir
from discretion.engine.build import build_policy
from discretion.policy.load import load_document
from discretion.policy.suites import run_suite
from discretion.store.files import lower_directory

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
sys.path.insert(0, str(GOLDEN))
import generate  # noqa: E402  (tests/golden/generate.py)


def test_the_golden_files_are_the_compiled_shipped_rules():
    result = subprocess.run([sys.executable, str(GOLDEN / "generate.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_golden_files_hold_the_whole_policy():
    compiled = lower_directory(ROOT / "rules")
    joined = generate.join([p.read_text() for p in sorted((GOLDEN / "ir").glob("*.txtpb"))])
    assert joined == compiled
    assert joined.ir_version == ir.IR_VERSION and joined.revision


def test_every_shipped_case_passes_on_the_evaluator_built_from_the_golden_text():
    """Nothing the evaluator needs lives outside the compiled form: text in, every suite case out as expected."""
    policy = build_policy(generate.join([p.read_text() for p in sorted((GOLDEN / "ir").glob("*.txtpb"))]))
    failed, count = [], 0
    for path in sorted((ROOT / "rules").glob("*.test.yaml")):
        document, problems = load_document(str(path), path.read_bytes())
        assert not problems
        for result in run_suite(document, policy):
            count += 1
            if not result.passed:
                failed.append(f"{result.file}:{result.line}: {result.name}: {result.problems}")
    assert count > 150 and not failed, failed  # 189 cases today


def test_the_binary_form_reads_back_the_same():
    compiled = lower_directory(ROOT / "rules")
    assert ir.Policy.FromString(compiled.SerializeToString()) == compiled


def test_an_evaluator_refuses_a_compiled_form_of_another_version():
    compiled = lower_directory(ROOT / "rules")
    compiled.ir_version = ir.IR_VERSION + 1
    with pytest.raises(ir.UnsupportedVersion):
        build_policy(compiled)


def test_a_broken_expression_is_refused_not_skipped():
    """An expression with nothing set must not read as "always": the policy is refused."""
    text = (GOLDEN / "ir" / "tlp.txtpb").read_text()
    policy = text_format.Parse(text, ir.Policy())
    rule = next(r for a in policy.agreements for v in a.versions for r in v.rules if r.when.entries)
    rule.when.entries[0].Clear()
    with pytest.raises(ValueError):
        build_policy(policy)


@pytest.mark.parametrize("breaking", [
    lambda rule: setattr(rule, "effect", 0),
    lambda rule: rule.ClearField("actions"),
    lambda rule: rule.destinations.append("nowhere"),
    lambda rule: rule.obligations.add(type="not_an_obligation"),
    lambda rule: rule.when.entries.append(ir.Expr(text="any: []", any=ir.Conditions())),
    lambda rule: rule.when.entries.append(ir.Expr(text="not: {}", **{"not": ir.Condition()})),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", compare=ir.Compare(fact=ir.Fact(path="action")))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", compare=ir.Compare(
        op=ir.enum_value("Operator", "eq"), fact=ir.Fact(path="no.such.fact"), value=ir.Value(text="x")))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", quantified=ir.Quantified(
        of=ir.Fact(path="item.labels"), where=ir.Condition(entries=[ir.Expr(actor_is_author=True)])))),
    lambda rule: rule.when.entries.append(_compare("eq", "action", ir.Value(integer=1))),
    lambda rule: rule.when.entries.append(_compare("eq", "destination.kind", ir.Value(text="AI_TOOL"))),
    lambda rule: rule.when.entries.append(_compare("contains", "actor.id", ir.Value(text="a"))),
    lambda rule: rule.when.entries.append(_compare("lt", "actor.id", ir.Value(text="a"))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", matches=ir.Matches(fact=ir.Fact(path="actor.member"),
                                                                                 pattern="a"))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", matches=ir.Matches(fact=ir.Fact(path="actor.id"),
                                                                                 pattern="(a"))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", quantified=ir.Quantified(
        quantifier=ir.enum_value("Quantifier", "some"), of=ir.Fact(path="actor"),
        where=ir.Condition(entries=[ir.Expr(actor_is_author=True)])))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", consent=ir.Consent(
        test=ir.enum_value("ConsentTest", "author_consented"), scope=""))),
    lambda rule: rule.message.add(),
    lambda rule: rule.message.add(fact=ir.Fact(path="no.such")),
], ids=["unspecified effect", "no action", "unknown destination", "unknown obligation", "empty any", "empty not",
        "unspecified operator", "unknown fact", "unspecified quantifier", "a number for the action",
        "a kind outside the vocabulary", "contains on text", "ordering text", "matches on a yes/no",
        "a pattern RE2 refuses", "a quantifier over a record", "a blank consent scope", "an empty message piece",
        "a message of an unknown fact"])
def test_what_a_compiler_never_writes_is_refused_not_read_as_a_rule_that_never_applies(breaking):
    policy = lower_directory(ROOT / "rules")
    rule = next(r for a in policy.agreements if a.id == "tlp" for v in a.versions for r in v.rules
                if r.effect == ir.enum_value("Effect", "deny_unless_allowed"))
    breaking(rule)
    with pytest.raises(ValueError):
        build_policy(policy)


def _compare(op: str, fact: str, value: ir.Value) -> ir.Expr:
    return ir.Expr(compare=ir.Compare(op=ir.enum_value("Operator", op), fact=ir.Fact(path=fact), value=value))


@pytest.mark.parametrize("breaking", [
    lambda p: p.agreements.append(p.agreements[0]),
    lambda p: p.agreements[0].versions.append(p.agreements[0].versions[0]),
    lambda p: p.label_schemes.append(p.label_schemes[0]),
    lambda p: p.label_schemes[0].ClearField("order"),
    lambda p: setattr(p.label_schemes[0], "agreement", "nobody"),
    lambda p: p.agreements[0].versions[0].default_labels.update({"no-such-scheme": "x"}),
    lambda p: p.bindings.add(group="g-new", adoptions=[ir.Adoption(agreement="no-such-agreement")]),
    lambda p: p.bindings.add(group="g-new", adoptions=[ir.Adoption(agreement="tlp", version=99)]),
], ids=["an agreement twice", "a version twice", "a label scheme twice", "a scheme with no values",
        "a scheme of no agreement", "a default label of no scheme", "a binding to no agreement",
        "a binding to no version"])
def test_a_policy_a_compiler_never_writes_is_refused_whole(breaking):
    policy = lower_directory(ROOT / "rules")
    breaking(policy)
    with pytest.raises(ValueError):
        build_policy(policy)


def test_a_rule_whose_compiled_form_forgets_the_labels_it_reads_is_still_carried_by_them():
    """The evaluator works out from the expressions which label schemes a rule reads, whatever the field says."""
    policy = lower_directory(ROOT / "rules")
    for agreement in policy.agreements:
        for version in agreement.versions:
            for rule in version.rules:
                rule.ClearField("schemes_read")
    compiled = build_policy(policy)
    reference = build_policy(lower_directory(ROOT / "rules"))
    tlp = {r.id: r.schemes for rules in compiled.versions["tlp"][1].index.values() for r in rules}
    assert tlp and all(schemes == {"tlp"} for schemes in tlp.values()), tlp
    assert {r.id: r.schemes for rules in reference.versions["tlp"][1].index.values() for r in rules} == tlp


def test_every_enum_name_reads_back():
    for enum in ("Effect", "Operator", "Quantifier", "ConsentTest"):
        values = ir.messages.DESCRIPTOR.enum_types_by_name[enum].values
        for value in values[1:]:
            assert ir.enum_value(enum, ir.enum_name(enum, value.number)) == value.number


# ---- what the compiled form must carry over from the rule files, found by comparing with the compiler before it --


def _compile(*files: str):
    from discretion.compile import compile_with_diagnostics

    return compile_with_diagnostics([(f"f{i}.yaml", text.encode()) for i, text in enumerate(files)])


OWNER = """\
agreement: owner
title: Owner
summary: defines tlp
labels: {tlp: {order: [clear, green, amber, red]}}
versions:
  - version: 1
    rules:
      - id: no-public
        description: about item.label.tlp values
        destinations: [public]
        effect: deny
        reason: {code: np, message: np}
"""
PROBE = """\
agreement: probe
title: Probe
summary: probe agreement
versions:
  - version: 1
    rules:
      - {id: base, effect: allow, reason: {code: ok, message: ok}}
"""
LABELLED_SHARE = """\
action: share
actor: {id: u-me, member: true}
group: {id: g, adoptions: [{agreement: probe, effective_from: "2020-01-01T00:00:00Z"}]}
items: [{id: i1, author: {id: u-au}, posted_at: "2026-03-01T00:00:00Z", labels: [{scheme: tlp, value: green}]}]
destination: {kind: public}
requested_at: "2027-01-01T00:00:00Z"
"""


def test_a_label_carries_a_rule_that_names_its_scheme_only_in_its_description():
    from discretion.author.explain import read_request
    from discretion.engine import decide

    policy, _, problems = _compile(OWNER, PROBE)
    assert not problems
    decision = decide(policy, read_request(LABELLED_SHARE, "r.yaml"), now=0)
    assert decision.decision == "deny" and [f.rule for f in decision.findings if f.effect == "deny"] == ["no-public"]


def test_times_far_from_now_compile_and_hold():
    rules = PROBE.replace("      - {id: base", """\
      - id: old
        when: {item.posted_at: {lt: 0999-01-01T00:00:00Z}}
        effect: deny
        reason: {code: old, message: old}
      - id: held
        effect: allow_with_obligations
        obligations: [{hold_until: 9999-12-31T23:59:59.999999999Z}]
        reason: {code: h, message: h}
      - {id: base""")
    policy, _, problems = _compile(rules)
    assert not problems
    text = ir.to_text(lower_directory_of(rules))
    assert "seconds: 253402300799" in text and "nanos: 999999999" in text and "seconds: -30" in text
    rule = next(r for rules_ in policy.versions["probe"][1].index.values() for r in rules_ if r.id == "held")
    assert rule.obligations[0].params["until"](None) == 253402300799 * 10**9 + 999999999


def lower_directory_of(*files: str) -> ir.Policy:
    from discretion.compile import lower_documents

    compiled, _, problems = lower_documents([(f"f{i}.yaml", t.encode()) for i, t in enumerate(files)])
    assert not problems
    return compiled


def test_a_rule_for_no_destination_kind_compiles_to_nothing():
    from discretion.engine.model import DESTINATION_KINDS

    every = ", ".join(DESTINATION_KINDS)
    rules = PROBE.replace("      - {id: base", f"      - {{id: nowhere, destinations: {{except: [{every}]}}, effect: deny, "
                                              "reason: {code: n, message: n}}\n      - {id: base")
    policy, _, problems = _compile(rules)
    assert not problems
    assert [r.id for r in lower_directory_of(rules).agreements[0].versions[0].rules] == ["base"]


def test_a_null_obligation_parameter_is_a_problem_not_no_parameter():
    for obligation, code in [("exclude_items", "unexpected_parameter"), ("redact_identifying_content", "unknown_value"),
                             ("add_notice", "wrong_type"), ("hold_until", "bad_time")]:
        rules = PROBE.replace("      - {id: base", f"      - {{id: o, effect: allow_with_obligations, obligations: "
                                                  f"[{{{obligation}: null}}], reason: {{code: o, message: o}}}}\n"
                                                  "      - {id: base")
        _, _, problems = _compile(rules)
        assert [p.code for p in problems] == [code], (obligation, [p.render() for p in problems])


@pytest.mark.parametrize("keyword", ["not", "all", "any", "some"])
def test_the_deepest_condition_a_file_may_hold_compiles_to_a_form_any_protobuf_reader_reads(keyword):
    """A reader refuses messages nested past 100 levels: the deepest condition the rule files allow stays within it."""
    from discretion.compile import lower_documents

    def nested(depth: int) -> str:
        inner = '{"action": "share"}'
        for _ in range(depth):
            inner = {"not": f'{{"not": {inner}}}', "all": f'{{"all": [{inner}]}}', "any": f'{{"any": [{inner}]}}',
                     "some": f'{{"some": {{"of": "item.labels", "where": {inner}}}}}'}[keyword]
        return PROBE.replace("      - {id: base", f"      - {{id: deep, effect: deny, reason: {{code: d, message: d}}, "
                                                  f"when: {inner}}}\n      - {{id: base")

    deepest = None
    for depth in range(1, 60):
        compiled, _, problems = lower_documents([("deep.yaml", nested(depth).encode())], warnings=False)
        if problems:
            assert {p.code for p in problems} == {"too_deep"}
            break
        deepest = compiled
    assert deepest is not None and depth > 10
    assert ir.Policy.FromString(deepest.SerializeToString()) == deepest
    assert text_format.Parse(ir.to_text(deepest), ir.Policy()) == deepest
    build_policy(deepest)


NEWSLETTER = PROBE.replace("summary: probe agreement\n", """\
summary: probe agreement
consent_scopes:
  quote_in_newsletter: "the item may be quoted in the group's newsletter"
""").replace("      - {id: base", """\
      - id: newsletter-needs-consent
        when: {not: {author_consented: quote_in_newsletter}}
        effect: deny
        reason: {code: nc, message: no consent}
      - {id: base""")


def test_a_consent_scope_an_agreement_adds_is_read_like_a_built_in_one():
    from discretion.author.explain import read_request
    from discretion.engine import decide

    policy, _, problems = _compile(NEWSLETTER)
    assert not problems
    compiled = lower_directory_of(NEWSLETTER)
    assert [(s.name, s.agreement) for s in compiled.consent_scopes] == [("quote_in_newsletter", "probe")]
    share = LABELLED_SHARE.replace(", labels: [{scheme: tlp, value: green}]", "")
    consented = share.replace("author: {id: u-au}", "author: {id: u-au}, consents: [{by: u-au, scope: quote_in_newsletter}]")
    assert decide(policy, read_request(share, "r.yaml"), now=0).decision == "deny"
    assert decide(policy, read_request(consented, "r.yaml"), now=0).decision == "allow"
    assert "quote_in_newsletter" in policy.consent_scopes_read
    traced = decide(policy, read_request(consented, "r.yaml"), now=0, tracer=[])  # the traced build reads it too
    assert traced.decision == "allow"


def test_a_rule_reading_a_scope_no_agreement_adds_is_refused():
    compiled = lower_directory_of(NEWSLETTER)
    del compiled.consent_scopes[:]
    with pytest.raises(ValueError):
        build_policy(compiled)
