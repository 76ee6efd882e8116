"""Reports CI reads: `test --format junit` and `lint --format sarif`, from the installed command."""

from __future__ import annotations

import json
import shutil
from xml.etree import ElementTree as ET

import jsonschema

from .conftest import RULES, installed

# The part of SARIF 2.1.0 (OASIS) this log uses, as its schema states it: code-scanning services read these.
SARIF = {
    "type": "object", "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name", "rules"],
                    "properties": {"rules": {"type": "array", "items": {"type": "object", "required": ["id"]}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["ruleId", "level", "message"],
                    "properties": {
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": {"type": "object", "required": ["text"]},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {"type": "object", "required": ["artifactLocation"], "properties": {
                                "region": {"type": "object", "required": ["startLine"], "properties": {
                                    "startLine": {"type": "integer", "minimum": 1},
                                    "startColumn": {"type": "integer", "minimum": 1}}}}}}}}}}}}}}},
}


def broken_rules(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    chatham = rules / "chatham-house.yaml"
    chatham.write_text(chatham.read_text().replace("effect: allow", "effect: alow", 1))
    return rules


def test_lint_writes_sarif_placing_each_diagnostic_where_the_text_report_does(tmp_path):
    rules = broken_rules(tmp_path)
    done = installed("lint", "--format", "sarif", rules)
    assert done.code == 3
    log = json.loads(done.out)
    jsonschema.validate(log, SARIF)
    listed = json.loads(installed("lint", "--format", "json", rules).out)["diagnostics"]
    [run] = log["runs"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]] == \
        [(d["code"], d["file"], d["line"]) for d in listed]
    assert "did you mean `allow`?" in run["results"][0]["message"]["text"]
    assert run["tool"]["driver"]["rules"][run["results"][0]["ruleIndex"]]["id"] == run["results"][0]["ruleId"]
    clean = json.loads(installed("lint", "--format", "sarif", RULES).out)
    assert clean["runs"][0]["results"] == [] and installed("lint", "--format", "sarif", RULES).code == 0


def test_test_writes_junit_with_a_case_per_case_and_the_failure_of_each(tmp_path):
    done = installed("test", "--format", "junit", RULES)
    assert done.code == 0
    root = ET.fromstring(done.out)
    cases = root.findall("./testsuite/testcase")
    assert int(root.get("tests")) == len(cases) > 100 and root.get("failures") == "0"
    assert "passed" in done.err  # the person's report, beside the XML

    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    suite = rules / "tlp.test.yaml"
    suite.write_text(suite.read_text().replace("expect: {decision: deny, reasons: [tlp_beyond_label]}",
                                               "expect: {decision: allow, reasons: [tlp_beyond_label]}", 1))
    done = installed("test", "--format", "junit", rules)
    assert done.code == 4
    root = ET.fromstring(done.out)
    [failed] = [case for case in root.iter("testcase") if case.find("failure") is not None]
    assert failed.get("file").endswith("tlp.test.yaml") and int(failed.get("line")) > 0
    assert "decision" in failed.find("failure").get("message")
    assert root.get("failures") == "1"
    # Rules that do not compile: an error, not a pass.
    done = installed("test", "--format", "junit", broken_rules(tmp_path / "again"))
    root = ET.fromstring(done.out)
    assert done.code == 3 and root.get("errors") != "0" and root.find("./testsuite[@name='rules']") is not None
