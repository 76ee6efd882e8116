"""Running the test suites beside the rules, optionally recording coverage.

A PATH is a rules folder (every suite in it, coverage of every agreement), a
suite file (the rules of its folder; coverage of the agreement written in the
file of the same name), or an agreement file (its suite beside it).
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

from ..errors import Diagnostic
from ..policy import model
from ..policy.load import Document
from ..policy.suites import CaseResult, WireReader, check_suite, run_suite
from ..store.files import TEST_SUFFIXES
from .coverage import Coverage
from .workspace import RuleSet, find_suites, is_suite, load_rules, load_suite


@dataclass
class SuiteRun:
    path: pathlib.Path
    document: Document | None
    diagnostics: list[Diagnostic]
    results: list[CaseResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]


@dataclass
class TestRun:
    path: pathlib.Path
    rules: RuleSet
    suites: list[SuiteRun]
    coverage: Coverage | None
    agreements: set[str] | None  # what the coverage report covers; None for every agreement

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.rules.diagnostics + [d for s in self.suites for d in s.diagnostics]

    @property
    def results(self) -> list[CaseResult]:
        return [r for s in self.suites for r in s.results]


def run_tests(path: pathlib.Path | str, *, coverage: bool = False, wire: WireReader | None = None) -> TestRun:
    path = pathlib.Path(path)
    if path.is_dir():
        root, suites, covered = path, find_suites(path), None
    else:
        root = path.parent
        suites = [path] if is_suite(path) else [p for p in (_suite_beside(path),) if p.exists()]
    rules = load_rules(root)
    if not path.is_dir():
        covered = _agreements_of(rules, path) or None
    if not rules.ok:
        return TestRun(path, rules, [], None, covered)
    recorder = Coverage(rules.policy, rules.documents) if coverage else None
    runs = []
    for suite in suites:
        document, problems = load_suite(suite)
        run = SuiteRun(suite, document, problems)
        if document is not None:
            run.diagnostics += check_suite(document, wire)
            run.results = run_suite(document, rules.policy, traced=recorder.record if recorder else None, wire=wire)
        runs.append(run)
    return TestRun(path, rules, runs, recorder, covered)


def _suite_beside(agreement_file: pathlib.Path) -> pathlib.Path:
    return agreement_file.with_name(agreement_file.name.rsplit(".", 1)[0] + TEST_SUFFIXES[0])


def _agreements_of(rules: RuleSet, path: pathlib.Path) -> set[str]:
    """The agreements written in the rule file `path` names (itself, or the one beside its suite)."""
    stem = path.name.removesuffix(".test.yaml").removesuffix(".test.yml").rsplit(".", 1)[0]
    wanted = {path.with_name(stem + suffix).resolve() for suffix in (".yaml", ".yml")}
    return {a.id for a in model.read_policy(rules.documents).agreements
            if pathlib.Path(a.source.file).resolve() in wanted}
