"""The installed `discretion` command, run as a subprocess, and `run()` in process."""

from __future__ import annotations

import io
import json
import pathlib
import shutil
import subprocess
import sys

from discretion.cli import run

ROOT = pathlib.Path(__file__).resolve().parent.parent
DISCRETION = pathlib.Path(sys.executable).parent / "discretion"


def _broken_rules(tmp_path: pathlib.Path) -> pathlib.Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    chatham = rules / "chatham-house.yaml"
    text = chatham.read_text()
    text = text.replace("original_exchange_participant, personal_archive]}",
                        "original_exchange_participant, personal_archiv]}", 1)
    text = text.replace("when: {item.kind: [attendee_list, member_list]}", "when: {item.knd: [attendee_list]}", 1)
    chatham.write_text(text)
    return rules


def _line_of(path: pathlib.Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_lint_of_the_shipped_rules_is_clean():
    result = subprocess.run([str(DISCRETION), "lint", str(ROOT / "rules")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: no problems found" in result.stdout


def test_lint_reports_every_error_with_its_place_and_exits_3(tmp_path):
    rules = _broken_rules(tmp_path)
    chatham = rules / "chatham-house.yaml"
    result = subprocess.run([str(DISCRETION), "lint", str(rules)], capture_output=True, text=True)
    assert result.returncode == 3
    first = _line_of(chatham, "personal_archiv]}")
    second = _line_of(chatham, "item.knd")
    assert f"{chatham}:{first}:76: `personal_archiv` is not a valid value" in result.stdout
    assert "help: did you mean `personal_archive`?" in result.stdout
    assert (f"{chatham}:{second}:16: unknown fact `item.knd` (rule `attendees-listed-with-consent`) "
            "[unknown_fact]") in result.stdout
    assert "2 errors" in result.stderr


def test_lint_json_for_editors(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    code = run(["lint", "--format", "json", str(_broken_rules(tmp_path))], out, err)
    assert code == 3
    diagnostics = json.loads(out.getvalue())["diagnostics"]
    assert [d["code"] for d in diagnostics] == ["unknown_value", "unknown_fact"]
    assert diagnostics[1]["rule"] == "attendees-listed-with-consent"


def test_unknown_subcommand_is_a_usage_error():
    out, err = io.StringIO(), io.StringIO()
    assert run(["frobnicate"], out, err) == 2
    assert "invalid choice" in err.getvalue()
