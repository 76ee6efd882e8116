"""A short pass of each fuzzer over its corpus, from a fixed seed (`make fuzz` runs the long one).

The loader/compiler must answer any bytes with a policy or diagnostics, the
request conversion with INVALID_ARGUMENT or a decision, the native engine as
the Python one does; a crash or a disagreement fails here.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Enough for the mutations to reach past the corpus, few enough for every `make test`: a rule file
# costs the compiler a model, a compiled form and an evaluator (about 18 ms each), a request far less.
# The differential target reads and decides each input twice (and compiles a rule file in its policy
# mode), so it runs for a time, not a number of runs: its count is printed (`pytest -s`) to see it fall.
BUDGETS = {"fuzz_rules.py": "-runs=3000", "fuzz_requests.py": "-runs=5000", "fuzz_native.py": "-max_total_time=25"}


@pytest.mark.parametrize("target,corpus", [("fuzz_rules.py", "rules"), ("fuzz_requests.py", "requests"),
                                           ("fuzz_native.py", "native")])
def test_fuzzer_finds_no_crash(tmp_path, target, corpus):
    if target == "fuzz_native.py":
        pytest.importorskip("discretion_native")
    work = tmp_path / corpus
    shutil.copytree(ROOT / "fuzz" / "corpus" / corpus, work)  # the run adds inputs; keep the repo's corpus as is
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / target), str(work), "-seed=1", BUDGETS[target], "-timeout=10",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    done = re.search(r"Done (\d+) runs in (\d+) second", result.stderr)
    assert done, result.stderr[-3000:]
    if BUDGETS[target].startswith("-runs="):
        assert done[1] == BUDGETS[target].removeprefix("-runs=")
    print(f"{target}: {done[1]} runs in {done[2]} s")
