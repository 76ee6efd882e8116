"""The short pass of `make hostile`: every attack of the never-down and hostile-rule-file issues, against a real
`discretion serve --workers 2`.

`benchmarks/hostile.py --short` runs as a subprocess while its own normal
traffic runs; this asserts what it reports: outcomes and counts, never
times. Each attack is answered as it must be (refused naming the field, or
decided), no worker died or restarted, nothing was decided or logged for a
caller that had stopped waiting, the decision log names no group as given
and every refusal in it has its reason code, and no worker passed 256 MiB.
With each engine.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("engine", ["native", "reference"])  # the default, and the one the image serves
def test_the_short_hostile_pass_leaves_every_worker_up_and_every_outcome_as_it_must_be(tmp_path, engine):
    report_path = tmp_path / "hostile.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "hostile.py"), "--short", "--json",
                          str(report_path), "--serve-arg=--engine", f"--serve-arg={engine}"],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(report_path.read_text())
    attacks = {attack["key"]: attack for attack in report["attacks"]}
    assert list(attacks) == ["1-long-names", "1b-longest-names", "2-crafted-text", "2b-per-item-work", "4a-segments",
                             "4b-rosters", "5-malformed", "6-adoptions"]
    outcomes = {key: [call["outcome"] for call in attack["calls"]] for key, attack in attacks.items()}
    fields = {key: [call["field"] for call in attack["calls"]] for key, attack in attacks.items()}
    decided = {"allow", "deny", "allow_with_obligations"}

    assert outcomes["1-long-names"] == ["INVALID_ARGUMENT"] * 4
    assert fields["1-long-names"] == ["group.participants[0].display_name", "group.participants[0].handles[0]",
                                      "group.participants[0].organization", "group.participants[0].display_name"]
    assert set(outcomes["1b-longest-names"]) <= decided
    # Texts of repeated words name people throughout: redacted, with a generous deadline.
    assert outcomes["2-crafted-text"][:2] == ["allow_with_obligations"] * 2
    assert outcomes["2-crafted-text"][2] in ("DEADLINE_EXCEEDED", "allow_with_obligations")
    assert outcomes["2-crafted-text"][3:] == ["allow_with_obligations"] * 2
    # A quote naming someone in every word; an item read many ways; a roster too large to search
    # (each item denied, fail closed); a large Chinese roster, a text with an invisible inside a word.
    assert outcomes["2b-per-item-work"] == ["allow_with_obligations", "allow_with_obligations", "deny", "allow"]
    assert set(outcomes["4a-segments"]) <= decided and set(outcomes["4b-rosters"]) <= decided
    assert outcomes["5-malformed"] == ["INVALID_ARGUMENT"] * 2
    assert outcomes["6-adoptions"][0] == "INVALID_ARGUMENT" and fields["6-adoptions"][0] == "group.adoptions"
    assert outcomes["6-adoptions"][1] in decided

    # Hostile rule files: each taken by both workers as it must be, and the next change loaded after it.
    files = {entry["key"]: entry for entry in report["rule_files"]}
    assert list(files) == ["R0-ordinary", "R1-nested", "R2-many-rules", "R3-near-re2", "R4-costly-patterns",
                           "R5-escape"]
    assert {key: entry["outcome"] for key, entry in files.items()} == {
        "R0-ordinary": "loaded", "R1-nested": "refused", "R2-many-rules": "loaded", "R3-near-re2": "refused",
        "R4-costly-patterns": "loaded", "R5-escape": "refused"}
    assert files["R1-nested"]["codes"] == ["too_deep"]
    assert files["R3-near-re2"]["codes"] == ["pattern_budget", "pattern_too_large"]
    assert files["R5-escape"]["codes"] == ["control_character"]
    assert all(entry["watcher_alive"] and len(entry["reload_s"]) == 2 for entry in files.values())
    # The crafted quote under the costliest patterns: decided (a deny rule matches it).
    assert [call["outcome"] for call in files["R4-costly-patterns"]["calls"]] == ["deny"]

    assert report["problems"] == []
    assert report["restarts"] == 0 and report["normal_failed"] == 0 and report["server_exit"] == 0
    assert len(report["peak_mib"]) == 2 and max(report["peak_mib"].values()) <= 256
    assert report["log_raw_ids"] == 0 and report["log_refusals_without_code"] == 0
    # One line for each decided call and each normal call; none for the refused or abandoned.
    assert report["log_lines"] >= sum(o in decided for calls in outcomes.values() for o in calls)
