"""A short pass of each fuzzer over its corpus (`make fuzz` runs the long one).

Deterministic (one seed) up to a time box: on a loaded machine the pass stops
early rather than fail on the test's timeout, and says how many runs it made.

The loader/compiler must answer any bytes with a policy or diagnostics, the
request conversion with INVALID_ARGUMENT or a decision; a crash fails here.
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
RUNS = {"fuzz_rules.py": 3000, "fuzz_requests.py": 5000}
SECONDS = 60  # the time box of each pass, well inside the test's timeout


@pytest.mark.timeout(SECONDS * 4)
@pytest.mark.parametrize("target,corpus", [("fuzz_rules.py", "rules"), ("fuzz_requests.py", "requests")])
def test_fuzzer_finds_no_crash(tmp_path, target, corpus):
    work = tmp_path / corpus
    shutil.copytree(ROOT / "fuzz" / "corpus" / corpus, work)  # the run adds inputs; keep the repo's corpus as is
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / target), str(work), "-seed=1", f"-runs={RUNS[target]}",
         f"-max_total_time={SECONDS}", "-timeout=10",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (runs,) = re.findall(r"^Done (\d+) runs", result.stderr, re.M)
    print(f"{target}: {runs} runs")
    # At least the corpus itself was run, whatever the load.
    assert int(runs) >= len(list((ROOT / "fuzz" / "corpus" / corpus).iterdir()))
