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


def _readme_grpcurl_json() -> str:
    import re

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- example: grpcurl -->\n```sh\n[^\n]*<<'EOF'\n(.*?)\nEOF\n```", readme, re.S).group(1)
    return block


def test_explain_takes_the_wire_json_grpcurl_takes(tmp_path):
    wire = tmp_path / "request.json"
    wire.write_text(_readme_grpcurl_json())
    done = installed("explain", wire, "--rules", RULES, "--now", "2026-03-02T00:00:00Z")
    assert done.code == 0, done.err
    assert "decision: allow_with_obligations" in done.out and "redact_identifying_content" in done.out
    # The proto's own field names are the wire's too.
    snake = tmp_path / "snake.json"
    snake.write_text(_readme_grpcurl_json().replace('"quotedText"', '"quoted_text"'))
    assert installed("explain", snake, "--rules", RULES, "--now", "2026-03-02T00:00:00Z").out == done.out
    # What the server would refuse, refused naming the field.
    refused = tmp_path / "refused.json"
    refused.write_text(_readme_grpcurl_json().replace('"id": "u-ana", ', '', 1))
    done = installed("explain", refused, "--rules", RULES)
    assert done.code == 2 and "`actor.id`" in done.err, done.err


def test_a_word_written_as_the_wire_names_it_is_refused_with_the_word_meant(tmp_path):
    request = tmp_path / "request.yaml"
    request.write_text("action: ACTION_QUOTE\nactor: {id: u-ana, member: true}\n"
                       "group: {id: g1, adoptions: [{agreement: chatham-house, version: 1}]}\n"
                       "items: [{id: m-1, author: {id: u-chen}}]\ndestination: {kind: DESTINATION_KIND_PUBLIC}\n")
    done = installed("explain", request, "--rules", RULES)
    assert done.code == 2 and "did you mean `quote`?" in done.err, done.err
    request.write_text(request.read_text().replace("ACTION_QUOTE", "quote"))
    done = installed("explain", request, "--rules", RULES)
    assert done.code == 2 and "did you mean `public`?" in done.err, done.err


def test_explain_reads_the_wire_json_at_the_servers_clock(tmp_path):
    """As a server with its default skew: a retraction stamped just ahead of the instant decided at has
    happened, a requested_at far from it is refused, and the wire's own faults are named."""
    import json

    share = {"action": "ACTION_SHARE", "actor": {"id": "u-ana", "member": True},
             "group": {"id": "g1", "adoptions": [{"agreement": "stays-in-group", "version": 1}]},
             "items": [{"id": "m-1", "author": {"id": "u-chen"}, "postedAt": "2026-03-01T00:00:00Z"}],
             "destination": {"kind": "DESTINATION_KIND_SAME_GROUP"}}
    now = ("--now", "2026-03-02T00:00:00Z")
    request = tmp_path / "share.json"
    request.write_text(json.dumps(share))
    assert "decision: allow" in installed("explain", request, "--rules", RULES, *now).out
    share["items"][0]["retractedAt"] = "2026-03-02T00:01:40Z"  # 100 s ahead: the server reads it as past
    request.write_text(json.dumps(share))
    assert "decision: deny" in installed("explain", request, "--rules", RULES, *now).out
    share["requestedAt"] = "2026-06-01T00:00:00Z"
    request.write_text(json.dumps(share))
    done = installed("explain", request, "--rules", RULES, *now)
    assert done.code == 2 and "requested_at" in done.err, done.err
    request.write_text(json.dumps({**share, "requestedAt": "2026-03-02T00:00:00Z", "bogus": 1}))
    done = installed("explain", request, "--rules", RULES, *now)
    assert done.code == 2 and "bogus" in done.err and "did you mean" not in done.err, done.err
