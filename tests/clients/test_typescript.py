"""clients/typescript: its own tests (`node --test`) and its README's example, against a real server.

`make test` installs its packages (`npm ci`) and compiles it (`tsc`) first.
"""

from __future__ import annotations

import os
import re
import subprocess

from integration.conftest import ROOT

CLIENT = ROOT / "clients" / "typescript"


def node(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    assert (CLIENT / "dist" / "src" / "index.js").exists(), "`make test` compiles clients/typescript (make typescript)"
    return subprocess.run(["node", *args], cwd=CLIENT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **environment})


def test_the_typescript_client_passes_its_tests_against_a_real_server(servers):
    done = node("--test", "dist/test/", environment=servers)
    summary = dict(re.findall(r"^# (pass|fail|skipped|todo|cancelled) (\d+)$", done.stdout, re.M))
    assert done.returncode == 0 and summary.get("fail") == "0", done.stdout[-4000:] + done.stderr[-2000:]
    assert int(summary["pass"]) >= 21 and summary.get("skipped") == "0" and summary.get("todo") == "0", summary


def test_the_readme_example_is_the_example_file_and_prints_what_it_shows(servers):
    readme = (CLIENT / "README.md").read_text()
    shown = re.search(r"```ts\n(.*?)```", readme, re.S).group(1)
    assert shown == (CLIENT / "examples" / "quote.ts").read_text()
    printed = re.search(r"```text\n(.*?)```", readme, re.S).group(1)
    done = node("dist/examples/quote.js", environment=servers)
    assert done.returncode == 0, done.stderr
    assert done.stdout == printed
