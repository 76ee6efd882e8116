"""Data-driven: rule files in, the exact diagnostics out (tests/cases/diagnostics.yaml)."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from discretion.errors import PolicyError
from discretion.store import compile_directory

CASES = yaml.safe_load((pathlib.Path(__file__).parent / "cases" / "diagnostics.yaml").read_text())
BASE = """agreement: base
title: Base
summary: a valid agreement the cases can refer to
versions: [{version: 1, rules: [{id: ok, effect: allow, reason: {code: ok, message: ok}}]}]
"""


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_diagnostics(tmp_path, case):
    (tmp_path / "base.yaml").write_text(BASE)
    for name, text in case["files"].items():
        (tmp_path / name).write_text(text)
    with pytest.raises(PolicyError) as raised:
        compile_directory(tmp_path)
    got = [
        {"code": d.code, "file": pathlib.Path(d.file).name, "line": d.line, "column": d.column,
         "rule": d.rule, "help": d.help}
        for d in raised.value.diagnostics
    ]
    want = [{"rule": "", **w} for w in case["expect"]]
    # Compare only the keys each expectation spells out (help is optional).
    trimmed = [{k: g[k] for k in w} for g, w in zip(got, want)]
    assert trimmed == want and len(got) == len(want), got


def test_the_shipped_rules_compile_cleanly():
    policy = compile_directory(pathlib.Path(__file__).resolve().parent.parent / "rules")
    assert {a.id for a in policy.agreements} >= {"platform-baseline", "chatham-house"}
    assert len(policy.revision) == 16


def test_the_policy_knows_the_consent_scopes_its_rules_read():
    policy = compile_directory(pathlib.Path(__file__).resolve().parent.parent / "rules")
    # `new_terms` is read by the engine itself, for every item.
    assert policy.consent_scopes_read == {"attribution", "listing", "new_terms", "service_access",
                                           "share_beyond_label", "share_outside", "provider_instruction"}


def test_obligations_read_the_consent_scopes_they_name_or_imply():
    from discretion.compile import compile_documents

    def read(obligation: str) -> frozenset[str]:
        rule = f"{{id: r, effect: allow_with_obligations, obligations: [{obligation}], reason: {{code: x, message: y}}}}"
        text = BASE.replace("{id: ok, effect: allow, reason: {code: ok, message: ok}}", rule)
        return compile_documents([("a.yaml", text.encode())]).consent_scopes_read - {"new_terms"}

    assert read("{require_author_consent: export}") == {"export"}
    assert read("redact_participant_identities") == {"listing"}  # its default
    assert read("{redact_participant_identities: {scope: ai_processing}}") == {"ai_processing"}
    assert read("redact_identifying_content") == {"attribution"}  # a speaker who consented may be named


def test_a_rule_file_linked_from_outside_the_rules_folder_is_refused(tmp_path):
    outside = tmp_path / "secret.yaml"
    outside.write_text(BASE)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "base.yaml").symlink_to(outside)
    with pytest.raises(PolicyError) as raised:
        compile_directory(rules)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "outside_rules_root" and diagnostic.file.endswith("rules/base.yaml")


def test_a_configmap_style_symlink_swap_stays_inside(tmp_path):
    """Kubernetes mounts a ConfigMap as `name -> ..data/name`, `..data -> ..<timestamp>`."""
    rules = tmp_path / "rules"
    (rules / "..2026_01_01").mkdir(parents=True)
    (rules / "..2026_01_01" / "base.yaml").write_text(BASE)
    (rules / "..data").symlink_to("..2026_01_01")
    (rules / "base.yaml").symlink_to("..data/base.yaml")
    policy = compile_directory(rules)
    assert [a.id for a in policy.agreements] == ["base"]


def test_a_pattern_matches_in_linear_time():
    from discretion.engine import decide
    from discretion.engine.model import Actor, Destination, Group, Item, Request

    rules = {"a.yaml": BASE.replace("agreement: base", "agreement: a").replace(
        "rules: [{id: ok, effect: allow, reason: {code: ok, message: ok}}]",
        'rules: [{id: ok, effect: allow, reason: {code: ok, message: ok}}, '
        '{id: no-urls, when: {quoted_text: {matches: "(x+x+)+y"}}, effect: deny, reason: {code: nope, message: refused}}]')}
    from discretion.compile import compile_documents

    policy = compile_documents([(name, text.encode()) for name, text in rules.items()])
    request = Request("share", Actor(id="a", member=True), Group(id="g", adoptions=(_adoption("a"),)),
                      (Item(id="i"),), Destination(kind="public"), 0, quoted_text="x" * 5000)
    # A backtracking engine takes exponential time on this input; RE2 answers at once.
    assert decide(policy, request, now=0).decision == "allow"
    request.quoted_text = "x" * 50 + "y"
    assert decide(policy, request, now=0).decision == "deny"


def _adoption(agreement: str):
    from discretion.engine.model import Adoption

    return Adoption(agreement)


def test_a_reload_leaves_the_shadowed_rule_warnings_to_lint():
    """Quadratic in a version's rules, warnings only: 4,000 rules once took 85 s to reload."""
    from discretion.compile.compiler import compile_with_diagnostics
    rules = "\n".join(f"      - {{id: r{i}, when: {{actor.id: a}}, effect: deny, reason: {{code: c, message: m}}}}"
                      for i in range(3))
    files = [("a.yaml", ("agreement: a\ntitle: A\nsummary: s\nversions:\n  - version: 1\n    rules:\n"
                         + rules + "\n").encode())]
    linted = [d.code for d in compile_with_diagnostics(files)[2]]
    reloaded = [d.code for d in compile_with_diagnostics(files, warnings=False)[2]]
    assert linted == ["shadowed_rule", "shadowed_rule"] and reloaded == []
