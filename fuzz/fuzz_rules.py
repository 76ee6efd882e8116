"""Coverage-guided fuzzing of the rule loader and compiler.

Any bytes given as a rule file must end in a compiled policy or in
diagnostics (PolicyError), never in another exception or a hang.

    .venv/bin/python fuzz/fuzz_rules.py fuzz/corpus/rules -max_total_time=60
"""

from __future__ import annotations

import pathlib
import sys

import atheris

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "service"))

with atheris.instrument_imports(include=["discretion"]):
    from discretion.compile import compile_documents
    from discretion.errors import PolicyError

BASE = (pathlib.Path(__file__).resolve().parent.parent / "rules" / "platform-baseline.yaml").read_bytes()


def test_one_input(data: bytes) -> None:
    try:
        # Beside a valid agreement, so references between files are exercised too.
        compile_documents([("base.yaml", BASE), ("fuzzed.yaml", data)])
    except PolicyError as error:
        for diagnostic in error.diagnostics:
            assert diagnostic.line >= 0 and diagnostic.column >= 0 and diagnostic.code, diagnostic


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
