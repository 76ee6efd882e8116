"""A short pass of each fuzzer over its corpus, from a fixed seed (`make fuzz` runs the long one).

The loader/compiler must answer any bytes with a policy or diagnostics, the
request conversion with INVALID_ARGUMENT or a decision, the native engine as
the Python one does; a crash or a disagreement fails here. Each pass stops at
a count of runs or at its time box, whichever comes first, so that a loaded
machine ends it early rather than fail on the test's timeout; it prints how
many runs it made (`pytest -s`).
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
# mode), so it runs for its time box alone.
RUNS = {"fuzz_rules.py": 3000, "fuzz_requests.py": 5000, "fuzz_native.py": -1}
SECONDS = {"fuzz_rules.py": 60, "fuzz_requests.py": 60, "fuzz_native.py": 25}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("target,corpus", [("fuzz_rules.py", "rules"), ("fuzz_requests.py", "requests"),
                                           ("fuzz_native.py", "native")])
def test_fuzzer_finds_no_crash(tmp_path, target, corpus):
    work = tmp_path / corpus
    shutil.copytree(ROOT / "fuzz" / "corpus" / corpus, work)  # the run adds inputs; keep the repo's corpus as is
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / target), str(work), "-seed=1", f"-runs={RUNS[target]}",
         f"-max_total_time={SECONDS[target]}", "-timeout=10", f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    done = re.search(r"^Done (\d+) runs in (\d+) second", result.stderr, re.M)
    assert done, result.stderr[-3000:]
    print(f"{target}: {done[1]} runs in {done[2]} s")
    # At least the corpus itself was run, whatever the load.
    assert int(done[1]) >= len(list((ROOT / "fuzz" / "corpus" / corpus).iterdir()))
