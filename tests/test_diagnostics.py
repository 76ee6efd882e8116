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
