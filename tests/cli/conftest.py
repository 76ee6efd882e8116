"""The `discretion` command for policy authors: in process through `run()`, and installed, as a subprocess."""

from __future__ import annotations

import io
import pathlib
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest

from discretion.cli import run

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
RULES = ROOT / "rules"
DISCRETION = pathlib.Path(sys.executable).parent / "discretion"


@dataclass
class Result:
    code: int
    out: str
    err: str


def invoke(*argv: str) -> Result:
    """`discretion ARGV…` in process."""
    out, err = io.StringIO(), io.StringIO()
    code = run([str(a) for a in argv], out, err)
    return Result(code, out.getvalue(), err.getvalue())


def installed(*argv: str, cwd: pathlib.Path | None = None, stdin: str | None = None) -> Result:
    """The installed `discretion` command, as a separate process."""
    done = subprocess.run([str(DISCRETION), *map(str, argv)], cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=120)
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def rules_copy(tmp_path) -> pathlib.Path:
    """A copy of the shipped rules a test may change."""
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    return copy


def edit(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer has {old!r}"
    path.write_text(text.replace(old, new, 1))
