"""A rules directory as an author works on it: its documents, its policy, every diagnostic, its suites."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

from ..compile import compile_with_diagnostics
from ..engine.compiled import CompiledPolicy
from ..errors import Diagnostic, PolicyError
from ..policy.load import Document, load_document
from ..store import read_rule_files, revision_of
from ..store.files import TEST_SUFFIXES


@dataclass
class RuleSet:
    """The rules under one path. `policy` holds only the rules that compiled; check `ok` first."""

    root: pathlib.Path
    policy: CompiledPolicy | None
    documents: list[Document]
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def ok(self) -> bool:
        return self.policy is not None and not self.errors


def load_rules(root: pathlib.Path | str) -> RuleSet:
    """Read and compile every rule file under `root` (a folder or one file), keeping all diagnostics."""
    root = pathlib.Path(root)
    try:
        files = read_rule_files(root)
    except PolicyError as error:
        return RuleSet(root, None, [], list(error.diagnostics))
    if not files:
        return RuleSet(root, None, [], [Diagnostic("no_rules", f"no rule files in `{root}`", str(root),
                                                   help="agreements are `*.yaml` files, one agreement per file")])
    base = root if root.is_dir() else root.parent
    named = [(pathlib.Path(name).relative_to(base).as_posix(), content) for name, content in files]
    policy, documents, diagnostics = compile_with_diagnostics(files, revision_of(named))
    return RuleSet(root, policy, documents, diagnostics)


def is_suite(path: pathlib.Path) -> bool:
    return path.name.endswith(TEST_SUFFIXES)


def find_suites(root: pathlib.Path) -> list[pathlib.Path]:
    """The test suites (`*.test.yaml`) under `root`, hidden folders skipped, in a stable order."""
    if root.is_file():
        return [root] if is_suite(root) else []
    return [p for p in sorted(root.rglob("*")) if p.is_file() and is_suite(p)
            and not any(part.startswith(".") for part in p.relative_to(root).parts)]


def load_suite(path: pathlib.Path) -> tuple[Document | None, list[Diagnostic]]:
    """A suite file, schema-checked; None with the diagnostics when it is not a usable suite."""
    try:
        content = path.read_bytes()
    except OSError as error:
        return None, [Diagnostic("no_rules", f"cannot read `{path}`: {error.strerror}", str(path))]
    document, problems = load_document(str(path), content)
    if document is not None and document.kind != "suite":
        return None, [document.source.diagnostic((), "unknown_document", "a test file must be a suite",
                                                  help="start it with `suite: <name>`")]
    if document is not None and document.broken_outside([("cases", i) for i in range(len(document.data["cases"]))]
                                                        if isinstance(document.data.get("cases"), list) else []):
        return None, problems
    return document, problems
