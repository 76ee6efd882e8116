"""Which files make up a policy, and the revision that names their content."""

from __future__ import annotations

import hashlib
import pathlib

from .. import ir
from ..compile import lower_documents
from ..engine.build import build_policy
from ..engine.compiled import CompiledPolicy
from ..errors import Diagnostic, PolicyError
from ..policy.load import Document

RULE_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".test.yaml", ".test.yml")


def find_rule_files(root: pathlib.Path) -> list[pathlib.Path]:
    """Agreement and bindings files under `root`, in a stable order.

    Test suites (`*.test.yaml`) live beside agreements but are not rules.
    Hidden entries are skipped: a Kubernetes ConfigMap mount keeps its real
    files in `..<timestamp>/` folders and exposes them through symlinks.
    """
    root = pathlib.Path(root)
    if root.is_file():
        return [root]
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        name = path.name
        if name.endswith(RULE_SUFFIXES) and not name.endswith(TEST_SUFFIXES) and path.is_file():
            found.append(path)
    return found


def revision_of(contents: list[tuple[str, bytes]]) -> str:
    """A content hash of the rule set: the same on every replica that loaded the same files."""
    digest = hashlib.sha256()
    for name, data in sorted(contents):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def read_rule_files(root: pathlib.Path | str) -> list[tuple[str, bytes]]:
    root = pathlib.Path(root)
    if not root.exists():
        raise PolicyError([Diagnostic("no_rules", f"`{root}` does not exist", str(root),
                                      help="pass the folder that holds the agreements, e.g. `rules/`")])
    paths = find_rule_files(root)
    base = root.resolve() if root.is_dir() else root.resolve().parent  # once: resolving walks every component
    outside = [_outside(path) for path in paths if not _within(path, base)]
    if outside:
        raise PolicyError(outside)
    return [(str(path), path.read_bytes()) for path in paths]


def _within(path: pathlib.Path, base: pathlib.Path) -> bool:
    """Whether the file a path leads to lies under the rules root (`base`, resolved).

    A symlink may point anywhere; following one out of the root would let a
    rules folder pull in any file the server can read. A Kubernetes ConfigMap's
    `..data` links stay inside the mount, so they pass.
    """
    return path.resolve().is_relative_to(base)


def _outside(path: pathlib.Path) -> Diagnostic:
    return Diagnostic("outside_rules_root", f"`{path}` leads outside the rules folder, to `{path.resolve()}`",
                      str(path), 1, 1, help="copy the file into the rules folder instead of linking to it")


def compile_directory(root: pathlib.Path | str) -> CompiledPolicy:
    """Compile every rule file under `root`; raises PolicyError with all diagnostics."""
    return build_policy(lower_directory(root))


def lower_directory(root: pathlib.Path | str) -> ir.Policy:
    """The compiled form of every rule file under `root`; raises PolicyError with all diagnostics."""
    compiled, _, problems = load_directory(root, warnings=False)
    if compiled is None or any(p.severity == "error" for p in problems):
        raise PolicyError(problems)
    return compiled


def load_directory(root: pathlib.Path | str, warnings: bool = True
                   ) -> tuple[ir.Policy | None, list[Document], list[Diagnostic]]:
    """Every rule file under `root` (a folder or one file) read and compiled, every diagnostic kept.

    The one way a rules folder is loaded: the server raises on what this
    reports (`lower_directory`), the author tools show it. The compiled form
    holds the rules that compiled; None when no file could be read.
    """
    root = pathlib.Path(root)
    try:
        files = read_rule_files(root)
    except PolicyError as error:
        return None, [], list(error.diagnostics)
    if not files:
        return None, [], [Diagnostic("no_rules", f"no rule files in `{root}`", str(root),
                                     help="agreements are `*.yaml` files, one agreement per file")]
    # The revision hashes names relative to the root, so replicas that mount
    # the same files at different places agree on it.
    base = root if root.is_dir() else root.parent
    named = [(pathlib.Path(name).relative_to(base).as_posix(), content) for name, content in files]
    return lower_documents(files, revision_of(named), warnings=warnings)
