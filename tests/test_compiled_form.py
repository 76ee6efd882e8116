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
    rule.when.entries[0].expr.Clear()
    with pytest.raises(ValueError):
        build_policy(policy)


@pytest.mark.parametrize("breaking", [
    lambda rule: setattr(rule, "effect", 0),
    lambda rule: rule.ClearField("actions"),
    lambda rule: rule.destinations.append("nowhere"),
    lambda rule: rule.obligations.add(type="not_an_obligation"),
    lambda rule: rule.when.entries.add(text="any: []", expr=ir.Expr(any=ir.Conditions())),
    lambda rule: rule.when.entries.add(text="not: {}", expr=ir.Expr(**{"not": ir.Condition()})),
    lambda rule: rule.when.entries.add(text="x", expr=ir.Expr(compare=ir.Compare(fact=ir.Fact(path="action")))),
    lambda rule: rule.when.entries.add(text="x", expr=ir.Expr(compare=ir.Compare(
        op=ir.enum_value("Operator", "eq"), fact=ir.Fact(path="no.such.fact"), value=ir.Value(text="x")))),
    lambda rule: rule.when.entries.add(text="x", expr=ir.Expr(quantified=ir.Quantified(
        of=ir.Fact(path="item.labels"), where=ir.Condition(entries=[ir.Entry(expr=ir.Expr(actor_is_author=True))])))),
], ids=["unspecified effect", "no action", "unknown destination", "unknown obligation", "empty any", "empty not",
        "unspecified operator", "unknown fact", "unspecified quantifier"])
def test_what_a_compiler_never_writes_is_refused_not_read_as_a_rule_that_never_applies(breaking):
    policy = lower_directory(ROOT / "rules")
    rule = next(r for a in policy.agreements if a.id == "tlp" for v in a.versions for r in v.rules
                if r.effect == ir.enum_value("Effect", "deny_unless_allowed"))
    breaking(rule)
    with pytest.raises(ValueError):
        build_policy(policy)


def test_every_enum_name_reads_back():
    for enum in ("Effect", "Operator", "Quantifier", "ConsentTest"):
        values = ir.messages.DESCRIPTOR.enum_types_by_name[enum].values
        for value in values[1:]:
            assert ir.enum_value(enum, ir.enum_name(enum, value.number)) == value.number
