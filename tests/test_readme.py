"""The README's examples, executed as printed, against a real server; their printed output is checked.

An example is the code block after `<!-- example: NAME -->`; its expected
output is the block after `<!-- output: NAME -->`. The lint example's broken
file is rebuilt from the source lines its output shows.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from integration.conftest import RunningServer  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DEFAULT_TARGET = "127.0.0.1:50051"


def block(kind: str, name: str) -> str:
    match = re.search(rf"<!-- {kind}: {name} -->\n```\w*\n(.*?)```", README, re.S)
    assert match, f"README has no {kind} block `{name}`"
    return match.group(1)


@pytest.fixture(scope="module")
def server():
    running = RunningServer(ROOT / "rules")
    yield running
    running.stop()


def _revision_free(text: str) -> str:
    """The output without what differs from run to run: the rules' revision, and the decision's own id."""
    text = re.sub(r'"policy_revision": "[0-9a-f]+"', '"policy_revision": "…"', text)
    return re.sub(r'"decision_id": "[0-9a-f]{32}"', '"decision_id": "…"', text)


def test_grpcurl_example(server):
    script = block("example", "grpcurl").replace(DEFAULT_TARGET, server.target)
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert _revision_free(result.stdout) == _revision_free(block("output", "grpcurl"))


def test_grpcurl_lists_the_services_by_reflection(server):
    grpcurl = pathlib.Path(sys.executable).parent / "grpcurl"
    result = subprocess.run([str(grpcurl), "-plaintext", server.target, "list"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert {"discretion.v1.PolicyService", "grpc.health.v1.Health"} <= set(result.stdout.split())


def test_python_example(server):
    script = block("example", "python").replace(DEFAULT_TARGET, server.target)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == block("output", "python")


def test_lint_example(tmp_path):
    expected = block("output", "lint")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    # Put the mistakes the output shows into a copy of the rules.
    broken: dict[str, dict[int, str]] = {}
    current = None
    for line in expected.splitlines():
        if head := re.match(r"(rules/[\w.-]+):(\d+):\d+: ", line):
            current = head.group(1)
        elif shown := re.match(r"(\d+) \| (.*)$", line):
            broken.setdefault(current, {})[int(shown.group(1))] = shown.group(2)
    assert broken, "the lint output shows no source lines"
    for name, lines in broken.items():
        path = tmp_path / name
        text = path.read_text().splitlines()
        for number, content in lines.items():
            text[number - 1] = content
        path.write_text("\n".join(text) + "\n")
    command = block("example", "lint").strip().replace(".venv/bin/discretion",
                                                       str(pathlib.Path(sys.executable).parent / "discretion"))
    result = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert result.stdout == expected
