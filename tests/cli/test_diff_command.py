"""`discretion diff`: matrix cells, rules and replayed requests that a change would decide differently."""

from __future__ import annotations

import json
import shutil

from discretion.author.explain import read_request
from discretion.engine import decide
from discretion.engine.instants import SECOND
from discretion.server.decision_log import log_record
from discretion.store import compile_directory

from .conftest import RULES, edit, installed, invoke

QUOTE_INSIDE = {"action": "quote", "requested_at": "2026-03-02T09:00:00Z", "actor": {"id": "u-ana", "member": True},
                "group": {"id": "g-1", "adoptions": [{"agreement": "chatham-house", "version": 1}]},
                "items": [{"id": "m-1", "author": {"id": "u-chen"}, "posted_at": "2026-03-01T10:00:00Z"}],
                "destination": {"kind": "actor_org_internal"}, "attribution": {"author_identity": True}}
TLP_SHARE = {"action": "share", "requested_at": "2026-03-02T09:00:00Z", "actor": {"id": "u-me", "member": True},
             "group": {"id": "g-2", "adoptions": [{"agreement": "tlp", "version": 1}]},
             "items": [{"id": "i-1", "author": {"id": "u-src"}, "posted_at": "2026-03-01T00:00:00Z",
                        "labels": [{"scheme": "tlp", "value": "clear"}]}],
             "destination": {"kind": "public"}}


def _loosened(rules):
    """Speakers may be named to colleagues in the reader's own organization."""
    edit(rules / "chatham-house.yaml", "destinations: {except: [same_group, original_exchange_participant, personal_archive]}\n"
         "        when: {not: {author_consented: attribution}}",
         "destinations: {except: [same_group, original_exchange_participant, personal_archive, actor_org_internal]}\n"
         "        when: {not: {author_consented: attribution}}")
    return rules


def test_no_change_exits_0():
    result = invoke("diff", RULES, RULES)
    assert result.code == 0 and result.out == f"no change: `{RULES}` and `{RULES}` decide every matrix cell alike\n"


def test_a_change_lists_the_cells_and_the_rule_and_exits_1(rules_copy):
    result = invoke("diff", RULES, _loosened(rules_copy))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "matrix cells that change (3):" and lines[1] == "  chatham-house@1"
    assert ("    quote → actor_org_internal: allow_with_obligations, no longer owes redact_author_identity, "
            "redact_author_affiliation") in lines
    assert any(line.startswith("  rule chatham-house@1/speaker-not-named changed  (") for line in lines)


def test_a_change_no_cell_shows_is_still_reported(rules_copy):
    edit(rules_copy / "chatham-house.yaml", "item.session.speaker_count: 1,", "item.session.speaker_count: [1, 2],")
    result = invoke("diff", RULES, rules_copy)
    assert result.code == 1 and "matrix cells" not in result.out
    assert "  rule chatham-house@1/identified-by-context changed" in result.out


def test_an_added_agreement_and_a_changed_setting(rules_copy):
    (rules_copy / "quiet.yaml").write_text("agreement: quiet\ntitle: Q\nsummary: s\nversions: [{version: 1, rules: "
                                           "[{id: nothing-leaves, effect: deny, reason: {code: q, message: q}}]}]\n")
    edit(rules_copy / "press.yaml", "default_labels: {press: on_record}", "default_labels: {press: background}")
    out = invoke("diff", RULES, rules_copy).out
    assert "  version quiet@1 added" in out and "  rule quiet@1/nothing-leaves added" in out
    assert "  setting press `default_labels@1` changed" in out
    assert "    share → public [no label]" not in out and "press@1" in out  # the unlabelled table now reads background


def test_replay_decides_recorded_requests_with_both(tmp_path, rules_copy):
    replay = tmp_path / "requests.jsonl"
    replay.write_text(json.dumps(QUOTE_INSIDE) + "\n\n" + json.dumps({"request": TLP_SHARE}) + "\n")
    result = invoke("diff", RULES, _loosened(rules_copy), "--replay", replay)
    assert result.code == 1
    assert f"replay of {replay}: 1 of 2 requests decided differently\n  {replay}:1:\n" in result.out
    assert "    allow_with_obligations → allow\n" in result.out


def test_decision_log_lines_are_compared_by_the_rules_that_could_apply(tmp_path, rules_copy):
    policy = compile_directory(RULES)
    lines = []
    for data in (QUOTE_INSIDE, TLP_SHARE):
        request = read_request(json.dumps(data), "r.json")
        lines.append(json.dumps(log_record(request, decide(policy, request, now=0), 1_800_000_000 * SECOND, 0.001)))
    replay = tmp_path / "decisions.jsonl"
    replay.write_text("\n".join(lines) + "\n")
    result = invoke("diff", RULES, _loosened(rules_copy), "--replay", replay)
    assert ("  2 decision-log lines carry no request facts to decide again; 1 of them were decided under rules "
            "this change touches\n") in result.out
    assert f"  {replay}:1: may change (quote → actor_org_internal, was allow_with_obligations)\n" in result.out
    unchanged = invoke("diff", RULES, RULES, "--replay", replay)
    assert unchanged.code == 0 and "0 of them were decided under rules this change touches" in unchanged.out


def test_a_suite_can_be_replayed_and_names_its_cases(rules_copy):
    result = invoke("diff", RULES, _loosened(rules_copy), "--replay", RULES / "chatham-house.test.yaml")
    assert "a transcript for colleagues who were not present names no speaker" in result.out


def test_an_unreadable_replay_line_is_an_error(tmp_path):
    replay = tmp_path / "requests.jsonl"
    replay.write_text(json.dumps(TLP_SHARE) + "\n{not json\n" + json.dumps({"action": "share"}) + "\n")
    result = invoke("diff", RULES, RULES, "--replay", replay)
    assert result.code == 2
    assert f"error: {replay}:2:2: invalid json: " in result.err
    assert f"error: {replay}:3: not a request: actor: is required" in result.err


def test_broken_rules_on_either_side_exit_3(rules_copy):
    edit(rules_copy / "tlp.yaml", "effect: deny_unless_allowed", "effect: deny_unles_allowed")
    result = invoke("diff", RULES, rules_copy)
    assert result.code == 3 and "[unknown_value]" in result.err


def test_the_installed_command_gates_on_its_exit_code(rules_copy):
    assert installed("diff", RULES, RULES).code == 0
    changed = installed("diff", RULES, _loosened(rules_copy))
    assert changed.code == 1 and "matrix cells that change (3):" in changed.out


def test_a_logged_refusal_changes_only_when_the_agreements_known_change(tmp_path, rules_copy):
    refused = {"decision_id": "d1", "action": "quote", "destination_kind": "moon", "decision": "deny",
               "agreements": [], "rules": [], "obligations": [], "items": 1}
    replay = tmp_path / "decisions.jsonl"
    replay.write_text(json.dumps(refused) + "\n")
    assert invoke("diff", RULES, RULES, "--replay", replay).code == 0
    (rules_copy / "no-ai.yaml").unlink()
    (rules_copy / "no-ai.test.yaml").unlink()
    result = invoke("diff", RULES, rules_copy, "--replay", replay)
    assert result.code == 1 and "1 do not say which rules governed" in result.out


# ---- decision-log lines: what else a logged decision depended on ------------------------

SHARE_PUBLIC = {"action": "share", "requested_at": "2026-03-02T09:00:00Z", "actor": {"id": "u-ana", "member": True},
                "items": [{"id": "m-1", "author": {"id": "u-chen"}, "posted_at": "2026-03-01T10:00:00Z"}],
                "destination": {"kind": "public"}}
QUIET = ("agreement: quiet\ntitle: Quiet\nsummary: what may leave\nversions:\n"
         "  - version: 1\n    rules:\n"
         "      - {id: may-share, actions: [share], effect: allow, reason: {code: may_share, message: may}}\n")
QUIETER = QUIET + ("  - version: 2\n    published_at: 2026-01-01T00:00:00Z\n    rules:\n"
                   "      - {id: nothing-leaves, effect: deny, reason: {code: nothing_leaves, message: refused}}\n")


def _rules_with(tmp_path, name: str, **files: str):
    folder = tmp_path / name
    shutil.copytree(RULES, folder)
    for file, text in files.items():
        (folder / file).write_text(text)
    return folder


def _logged(data: dict, rules=RULES, id_key: bytes | None = None) -> str:
    """The decision-log line a server with `rules` writes for the request `data`."""
    request = read_request(json.dumps(data), "r.json")
    decision = decide(compile_directory(rules), request, now=0)
    return json.dumps(log_record(request, decision, 1_800_000_000 * SECOND, 0.001, id_key))


def _replay_both(tmp_path, old, new, requests: list[dict], lines: list[str]):
    """diff OLD NEW over `requests` decided again and `lines` of the decision log; (its output, the file)."""
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps(r) + "\n" for r in requests) + "".join(line + "\n" for line in lines))
    result = invoke("diff", old, new, "--replay", replay)
    assert result.code == 1, result.err
    return result.out, replay


def test_a_logged_decision_of_a_version_0_adopter_may_change_when_a_version_is_added(tmp_path):
    old, new = _rules_with(tmp_path, "old", **{"quiet.yaml": QUIET}), _rules_with(tmp_path, "new", **{"quiet.yaml": QUIETER})
    latest = {**SHARE_PUBLIC, "group": {"id": "g-q", "adoptions": [{"agreement": "quiet", "version": 0}]}}
    other = {**SHARE_PUBLIC, "group": {"id": "g-c", "adoptions": [{"agreement": "chatham-house", "version": 1}]}}
    assert '"agreements": ["quiet@1", ' in _logged(latest, old)  # the line says which version, not "the latest"
    out, replay = _replay_both(tmp_path, old, new, [latest], [_logged(latest, old), _logged(other, old)])
    # Decided again, the request is denied under quiet@2: the logged line of the same decision may change.
    assert f"  {replay}:1:\n    allow → deny [nothing_leaves]\n" in out
    assert "  2 decision-log lines carry no request facts to decide again; 1 of them were decided under rules " \
           "this change touches\n" in out
    assert f"  {replay}:2: may change (share → public, was allow)\n" in out and f"{replay}:3: may change" not in out


def test_a_logged_decision_of_a_group_whose_binding_changed_may_change(tmp_path):
    bindings = (RULES / "bindings.yaml").read_text()
    assert bindings.endswith("        effective_from: 2026-01-01T00:00:00Z\n")
    new = _rules_with(tmp_path, "new", **{"bindings.yaml": bindings + "      - {agreement: no-ai, version: 1}\n"})
    to_ai = {**SHARE_PUBLIC, "destination": {"kind": "ai_tool", "service": {"name": "bot", "may_train": True}}}
    bound = {**to_ai, "group": {"id": "g-bound-example"}}
    unbound = {**to_ai, "group": {"id": "g-c", "adoptions": [{"agreement": "chatham-house", "version": 1}]}}
    lines = [_logged(bound), _logged(unbound), _logged(unbound, id_key=b"k" * 32)]
    assert all('"agreements": ["chatham-house@1", ' in line for line in lines)
    out, replay = _replay_both(tmp_path, RULES, new, [bound, unbound], lines)
    assert f"  {replay}:1:\n    allow → deny [ai_forbidden]\n" in out and f"  {replay}:2:\n" not in out
    assert "  3 decision-log lines carry no request facts to decide again; 2 of them were decided under rules " \
           "this change touches\n" in out
    # The bound group's line, and the one whose group is a hash (it may be the bound group): not the other.
    assert f"  {replay}:3: may change (share → ai_tool, was allow)\n" in out and f"  {replay}:5: may change (" in out
    assert f"  {replay}:4: may change" not in out


def test_a_logged_decision_may_change_by_the_rules_it_read_as_public_or_for_a_label(tmp_path):
    chatham = (RULES / "chatham-house.yaml").read_text().replace(
        "    rules:\n", "    rules:\n      - {id: not-public, destinations: [public], effect: deny, "
                       "reason: {code: not_public, message: refused}}\n", 1)
    tlp = (RULES / "tlp.yaml").read_text().replace(
        "      - id: clear\n", "      - {id: clear-stays, destinations: [community_peer], when: {item.label.tlp: clear}, "
                              "effect: deny, reason: {code: clear_stays, message: refused}}\n      - id: clear\n", 1)
    new = _rules_with(tmp_path, "new", **{"chatham-house.yaml": chatham, "tlp.yaml": tlp})
    group = {"id": "g-c", "adoptions": [{"agreement": "chatham-house", "version": 1}]}
    peer = {**SHARE_PUBLIC, "group": group, "destination": {"kind": "community_peer", "publicly_accessible": True}}
    labelled = {**SHARE_PUBLIC, "group": {"id": "g-o", "adoptions": [{"agreement": "open-with-opt-out", "version": 1}]},
                "destination": {"kind": "community_peer"},
                "items": [{"id": "m-1", "author": {"id": "u-chen"}, "posted_at": "2026-03-01T10:00:00Z",
                           "labels": [{"scheme": "tlp", "value": "clear"}]}]}
    lines = [_logged(peer), _logged(labelled)]
    assert '"agreements": ["open-with-opt-out@1", ' in lines[1] and "tlp@" not in lines[1].split('"rules"')[0]
    out, replay = _replay_both(tmp_path, RULES, new, [peer, labelled], lines)
    # Both decided again come out denied; neither line's own kind or agreements show why, and both may change.
    assert f"  {replay}:1:\n    " in out and "[not_public]" in out and "[clear_stays]" in out
    assert "  2 decision-log lines carry no request facts to decide again; 2 of them were decided under rules " \
           "this change touches\n" in out
