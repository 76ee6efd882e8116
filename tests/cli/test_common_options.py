"""What every command takes alike: `--version`, and the rules as PATH… or `--rules DIR`, as the README says."""

from __future__ import annotations

import shutil

import discretion

from .conftest import ROOT, RULES, installed


def test_version_is_the_packages():
    done = installed("--version")
    assert (done.code, done.out) == (0, f"discretion {discretion.__version__}\n")
    import tomllib

    assert discretion.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_lint_and_test_take_the_rules_as_a_path_or_with_rules(tmp_path):
    for command in ("lint", "test"):
        positional, option = installed(command, RULES), installed(command, "--rules", RULES)
        assert positional.code == option.code == 0, (positional, option)
        assert positional.out == option.out
    # Neither: the rules folder where the command runs, as the other tools read it.
    shutil.copytree(RULES, tmp_path / "rules")
    assert installed("test", cwd=tmp_path).out == installed("test", "--rules", RULES).out.replace(str(RULES), "rules")
    broken = tmp_path / "broken"
    shutil.copytree(RULES, broken)
    chatham = broken / "chatham-house.yaml"
    chatham.write_text(chatham.read_text().replace("effect: allow", "effect: alow", 1))
    assert installed("lint", "--rules", broken).code == 3
    assert installed("lint", "--rules", RULES, "--rules", broken).code == 3  # every path is read
    assert installed("test", "--rules", tmp_path / "nowhere").code == 2
