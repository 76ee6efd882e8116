"""The README's examples for policy authors, run as printed; their printed output is checked.

`<!-- example: NAME -->` is followed by the shell block to run and
`<!-- output: NAME -->` by what it prints. `<!-- file: PATH -->` blocks are
written where they say before the examples run, in a folder holding a copy of
the shipped rules, so the examples can change files freely.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from .conftest import DISCRETION, ROOT, RULES, installed

README = (ROOT / "README.md").read_text()
EXITS = {"test": 0, "explain": 0, "matrix": 0, "diff": 1}


def blocks(kind: str) -> dict[str, str]:
    return dict(re.findall(rf"<!-- {kind}: (\S+) -->\n```\w*\n(.*?)```", README, re.S))


@pytest.fixture
def workspace(tmp_path):
    shutil.copytree(RULES, tmp_path / "rules")
    for path, text in blocks("file").items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def test_the_readme_has_an_example_of_every_authoring_command():
    examples = blocks("example")
    assert set(EXITS) <= examples.keys() and set(EXITS) <= blocks("output").keys()
    for name in EXITS:
        assert f".venv/bin/discretion {name}" in examples[name]


@pytest.mark.parametrize("name", sorted(EXITS))
def test_example(workspace, name):
    script = blocks("example")[name].replace(".venv/bin/discretion", str(DISCRETION))
    result = subprocess.run(["bash", "-c", "set -e -o pipefail\n" + script if name != "diff" else script],
                            cwd=workspace, capture_output=True, text=True, timeout=120)
    assert result.returncode == EXITS[name], result.stdout + result.stderr
    assert result.stdout == blocks("output")[name]


@pytest.mark.parametrize("path", sorted(p for p in blocks("file") if p.endswith(".test.yaml")))
def test_each_suite_shown_in_the_readme_passes(workspace, path):
    result = installed("test", path, cwd=workspace)
    assert result.code == 0, result.out + result.err
    cases = len(re.findall(r"^  - name: ", blocks("file")[path], re.M))
    assert cases and result.out.splitlines()[0].split() == [path, str(cases), "passed"]
