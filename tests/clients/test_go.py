"""clients/go: its own tests (`go test`) and its README's example, against a real server.

The Go toolchain fetches the client's modules from the module proxy on first use (go.sum pins them).
"""

from __future__ import annotations

import os
import re
import subprocess

from integration.conftest import ROOT

CLIENT = ROOT / "clients" / "go"


def go(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["go", *args], cwd=CLIENT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **environment})


def test_the_go_client_passes_its_tests_against_a_real_server(servers):
    vet = go("vet", "./...", environment=servers)
    assert vet.returncode == 0, vet.stderr
    unformatted = subprocess.run(["gofmt", "-l", "."], cwd=CLIENT, capture_output=True, text=True, timeout=60)
    assert unformatted.stdout == "", unformatted.stdout
    done = go("test", "-count=1", "-v", "./...", environment=servers)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.findall(r"^--- PASS: (\w+)", done.stdout, re.M)
    assert len(passed) >= 11 and "--- SKIP" not in done.stdout, done.stdout[-2000:]


def test_the_readme_example_is_the_example_program_and_prints_what_it_shows(servers):
    readme = (CLIENT / "README.md").read_text()
    shown = re.search(r"```go\n(.*?)```", readme, re.S).group(1)
    assert shown == (CLIENT / "example" / "quote" / "main.go").read_text()
    printed = re.search(r"```text\n(.*?)```", readme, re.S).group(1)
    done = go("run", "./example/quote", environment=servers)
    assert done.returncode == 0, done.stderr
    assert done.stdout == printed
