"""Data-driven: files in, every diagnostic `discretion lint` reports out (tests/cases/lint.yaml).

And the rule that keeps it so: every diagnostic code the core can emit has a case,
here or in tests/cases/diagnostics.yaml.
"""

from __future__ import annotations

import ast
import os
import pathlib

import pytest
import yaml

from discretion.cli.lint import lint_paths

from .conftest import ROOT

CASES_DIR = ROOT / "tests" / "cases"
CASES = yaml.safe_load((CASES_DIR / "lint.yaml").read_text())
BASE = """agreement: base
title: Base
summary: a valid agreement the cases can refer to
versions: [{version: 1, rules: [{id: ok, effect: allow, reason: {code: ok, message: ok}}]}]
"""


def _write(folder: pathlib.Path, name: str, spec) -> None:
    path = folder / name
    if isinstance(spec, str):
        path.write_text(spec)
    elif "latin1" in spec:
        path.write_bytes(spec["latin1"].encode("latin-1"))
    elif "repeat" in spec:
        path.write_text(spec["repeat"] * spec["times"])
    elif "outside" in spec:
        outside = folder.parent / "elsewhere" / name
        outside.parent.mkdir(exist_ok=True)
        outside.write_text(spec["outside"])
        path.symlink_to(outside)
    else:
        raise AssertionError(f"unknown file spec {spec}")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_lint_case(tmp_path, case):
    folder = tmp_path / "rules"
    folder.mkdir()
    if case.get("base", True):
        (folder / "base.yaml").write_text(BASE)
    for name, spec in case["files"].items():
        _write(folder, name, spec)
    paths = [str(folder / p) for p in case.get("paths", ["."])]
    got = [
        {"code": d.code, "severity": d.severity, "file": os.path.relpath(d.file, folder) if d.file else "",
         "line": d.line, "column": d.column, "rule": d.rule, "help": d.help}
        for d in lint_paths(paths)
    ]
    want = [{"rule": "", "severity": "error", **w} for w in case["expect"]]
    # Compare only the keys each expectation spells out (line, column and help may be left out).
    trimmed = [{k: g[k] for k in w} for g, w in zip(got, want)]
    assert trimmed == want and len(got) == len(want), got


# ---- every code has a case --------------------------------------------------------------

# Where the code is among a call's positional arguments: Diagnostic(code, …),
# source.diagnostic(path, code, …), Invalid(path, code, …), report(path, code, …),
# diagnose(source, path, code, …).
_CODE_ARGUMENT = {"Diagnostic": 0, "diagnostic": 1, "Invalid": 1, "report": 1, "diagnose": 2}


def emitted_codes() -> dict[str, str]:
    """Every diagnostic code written in the core (not the gRPC adapter), with one place it is emitted."""
    found: dict[str, str] = {}
    package = ROOT / "service" / "discretion"
    for path in sorted(package.rglob("*.py")):
        if "server" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            index = _CODE_ARGUMENT.get(name)
            if index is not None and len(node.args) > index:
                argument = node.args[index]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    found.setdefault(argument.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def codes_with_cases() -> set[str]:
    codes = set()
    for path in CASES_DIR.glob("*.yaml"):
        for case in yaml.safe_load(path.read_text()) or []:
            if isinstance(case, dict):
                codes.update(e["code"] for e in case.get("expect") or [] if isinstance(e, dict) and "code" in e)
    return codes


def test_the_scan_finds_the_codes_it_should():
    codes = emitted_codes()
    assert {"never_holds", "shadowed_rule", "duplicate_rule", "yaml_syntax", "no_rules"} <= codes.keys()
    assert "x" not in codes  # a reason code in a test file is not a diagnostic


# Codes no file can cause, each with where it is tested instead.
_NOT_FROM_FILES = {
    "load_failed": "a fault of the loader itself: tests/test_holder.py",
    "too_many_rules": "10,001 rules are too long to write as a case: tests/test_rule_file_bounds.py",
    "json_syntax": "JSON lines, which only `diff --replay` reads: tests/cli/test_hostile_input.py",
    "invalid_request": "a request a server refuses, in a file `explain` reads (lint takes it in a "
                       "suite, to test the engine): tests/cli/test_hostile_input.py",
    "cannot_format": "`fmt` refusing a file its layout would change the meaning of: no such file is known "
                     "(the property in tests/cli/test_fmt.py looks for one)",
}


def test_every_diagnostic_code_has_a_data_driven_case():
    missing = {code: where for code, where in emitted_codes().items()
               if code not in codes_with_cases() and code not in _NOT_FROM_FILES}
    assert not missing, f"diagnostic codes without a case in tests/cases/: {missing}"
