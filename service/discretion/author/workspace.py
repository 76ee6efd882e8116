"""A rules directory as an author works on it: its documents, its policy, every diagnostic, its suites."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

from ..engine.build import build_policy
from ..engine.compiled import CompiledPolicy
from ..errors import Diagnostic
from ..policy.load import Document, load_document
from ..store.files import TEST_SUFFIXES, load_directory


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
    compiled, documents, diagnostics = load_directory(root)
    return RuleSet(root, None if compiled is None else build_policy(compiled), documents, diagnostics)


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
