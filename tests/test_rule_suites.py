"""Every case of every shipped suite (`rules/*.test.yaml`), decided by the compiled shipped rules."""

from __future__ import annotations

import pathlib

import pytest

from discretion.policy.load import load_document
from discretion.policy.suites import run_suite
from discretion.store import compile_directory

RULES = pathlib.Path(__file__).resolve().parent.parent / "rules"
SUITES = sorted(RULES.glob("*.test.yaml"))


@pytest.fixture(scope="module")
def policy():
    return compile_directory(RULES)


def _cases():
    for path in SUITES:
        document, problems = load_document(str(path), path.read_bytes())
        assert not problems, [p.render() for p in problems]
        for index, case in enumerate(document.data["cases"]):
            yield pytest.param(document, index, id=f"{path.stem}: {case['name']}")


def test_every_agreement_has_a_suite():
    agreements = {p.name.removesuffix(".yaml") for p in RULES.glob("*.yaml") if not p.name.endswith(".test.yaml")}
    suites = {p.name.removesuffix(".test.yaml") for p in SUITES}
    assert agreements - {"bindings"} <= suites


def test_every_label_scheme_a_shipped_rule_reads_or_preserves_is_defined(policy):
    """A scheme read by accident without a definition makes every label of it unknown."""
    defined = set(policy.label_schemes)
    for versions in policy.versions.values():
        for version in versions.values():
            for rules in version.index.values():
                for rule in rules:
                    preserved = {str(o.params["scheme"](None)) for o in rule.obligations if o.type == "preserve_label"}
                    assert rule.schemes | preserved <= defined, (rule.agreement, rule.id)
    assert {"tlp", "press", "embargo", "flag"} <= defined


@pytest.mark.parametrize("document,index", list(_cases()))
def test_case(policy, document, index):
    results = run_suite(document, policy)
    result = results[index]
    assert result.passed, f"{result.file}:{result.line}: {result.name}\n  " + "\n  ".join(result.problems)
