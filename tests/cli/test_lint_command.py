"""`discretion lint`: errors fail, warnings fail only with --strict, suites are checked beside the rules."""

from __future__ import annotations

import json

from .conftest import RULES, edit, installed, invoke

SHADOWED = """      - id: information-may-be-used-again
        actions: [quote]
        destinations: [public]
        effect: allow
        reason: {code: information_may_be_used, message: the information may be used}
"""


def _with_shadowed_rule(rules):
    chatham = rules / "chatham-house.yaml"
    edit(chatham, "      - id: speaker-not-named\n", SHADOWED + "      - id: speaker-not-named\n")
    return chatham


def test_the_shipped_rules_and_suites_are_clean():
    result = invoke("lint", RULES)
    assert (result.code, result.out, result.err) == (0, "ok: no problems found\n", "")


def test_a_warning_is_reported_but_fails_only_when_strict(rules_copy):
    chatham = _with_shadowed_rule(rules_copy)
    result = invoke("lint", rules_copy)
    assert result.code == 0
    line = next(i for i, text in enumerate(chatham.read_text().splitlines(), 1) if "information-may-be-used-again" in text)
    assert result.out.startswith(f"{chatham}:{line}:13: warning: rule `information-may-be-used-again` never changes a "
                                 "decision: `information-may-be-used`")
    assert "[shadowed_rule]" in result.out and result.err == "0 errors, 1 warning\n"
    assert invoke("lint", "--strict", rules_copy).code == 3


def test_json_carries_the_severity(rules_copy):
    _with_shadowed_rule(rules_copy)
    (diagnostic,) = json.loads(invoke("lint", "--format", "json", rules_copy).out)["diagnostics"]
    assert diagnostic["code"] == "shadowed_rule" and diagnostic["severity"] == "warning"
    assert diagnostic["rule"] == "information-may-be-used-again" and diagnostic["help"].startswith("remove")


def test_a_suite_is_checked_on_its_own_or_with_its_folder(rules_copy):
    suite = rules_copy / "tlp.test.yaml"
    edit(suite, "expect: {decision: allow, obligations: [], reasons: [tlp_clear]}",
         "expect: {decision: allow, obligations: [preserve_lable], reasons: [tlp_clear]}")
    alone = invoke("lint", suite)
    assert alone.code == 3 and "`preserve_lable` is not an obligation type" in alone.out
    assert "did you mean `preserve_label`?" in alone.out
    assert invoke("lint", rules_copy).out == alone.out


def test_a_condition_that_never_holds_is_an_error_the_server_refuses_too(rules_copy):
    edit(rules_copy / "chatham-house.yaml", "when: {item.session.speaker_count: 1,",
         "when: {item.session.speaker_count: 1, all: [{item.session.speaker_count: 2}],")
    result = installed("lint", rules_copy)
    assert result.code == 3 and "[never_holds]" in result.out
    assert "`item.session.speaker_count: 2` contradicts `item.session.speaker_count: 1`" in result.out
    from discretion.errors import PolicyError
    from discretion.store import compile_directory

    try:
        compile_directory(rules_copy)
    except PolicyError as error:
        assert [d.code for d in error.errors] == ["never_holds"]
    else:
        raise AssertionError("the compiler took a rule that can never apply")


def test_the_installed_command_checks_the_shipped_rules():
    result = installed("lint", RULES)
    assert result.code == 0 and result.out == "ok: no problems found\n", result.out + result.err


def test_files_nested_hundreds_or_thousands_deep_are_diagnosed_at_their_place_not_crashed_on(tmp_path):
    """A 3 KB file nested 400 deep once crashed lint with a traceback (RecursionError)."""
    # Past 1,000 levels the YAML reader stops on its own; the diagnostic is the same.
    for depth, code, column in ((400, "too_deep", 15 + 6 * 43), (5000, "too_deep", None)):
        folder = tmp_path / str(depth)
        folder.mkdir()
        (folder / "deep.yaml").write_text(
            "agreement: deep\ntitle: Deep\nsummary: nested\nversions:\n  - version: 1\n    rules:\n"
            "      - id: deep\n        effect: deny\n        reason: {code: deep, message: deep}\n"
            "        when: " + "{not: " * depth + "{action: share}" + "}" * depth + "\n")
        result = installed("lint", folder, "--format", "json")
        assert result.code == 3 and "Traceback" not in result.err, result.err
        (found,) = json.loads(result.out)["diagnostics"]
        assert found["code"] == code and found["file"].endswith("deep.yaml") and found["line"] == 10
        assert column is None or found["column"] == column
