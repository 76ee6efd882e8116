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
    rule = next(r for a in policy.agreements for v in a.versions for r in v.rules if r.when)
    rule.when[0].expr.Clear()
    with pytest.raises(ValueError):
        build_policy(policy)


def test_every_enum_name_reads_back():
    for enum in ("Effect", "Operator", "Quantifier", "ConsentTest"):
        values = ir.messages.DESCRIPTOR.enum_types_by_name[enum].values
        for value in values[1:]:
            assert ir.enum_value(enum, ir.enum_name(enum, value.number)) == value.number
