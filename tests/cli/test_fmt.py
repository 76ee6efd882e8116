"""`discretion fmt`: one canonical layout, comments kept, meaning never changed; run as CI runs it."""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discretion.policy.layout import WIDTH, format_file
from discretion.source import parse

from .conftest import RULES, installed

MESSY = """\
# yaml-language-server: $schema=../service/discretion/policy/schema.json
---
agreement:    demo   # the id
title: "Demo"
summary: >
    Folded text that
    spans lines.

source: https://example.org
versions:
- version: 1   # first
  # the rules
  rules:
          - id: a
            actions: [ share,quote ]
            when: {item.kind: [message], # inline
                   not: {author_consented: attribution}}
            effect: allow
            reason: {code: a, message: 'it is # not a comment', help: a reason long enough that its line is wrapped at its commas}


          # before b
          - id: b
            note: |2
                kept as written
              two less
            effect: deny
            reason:
                code: b
                message: plain text
                  folded over lines
# at the end
"""

LAID_OUT = """\
# yaml-language-server: $schema=../service/discretion/policy/schema.json
agreement: demo  # the id
title: "Demo"
summary: >
  Folded text that
  spans lines.

source: https://example.org
versions:
  - version: 1  # first
    # the rules
    rules:
      - id: a
        actions: [share, quote]
        when: {item.kind: [message], # inline
               not: {author_consented: attribution}}
        effect: allow
        reason: {code: a, message: 'it is # not a comment',
                 help: a reason long enough that its line is wrapped at its commas}

      # before b
      - id: b
        note: |2
            kept as written
          two less
        effect: deny
        reason:
          code: b
          message: plain text
            folded over lines
# at the end
"""


def _layout(text: str) -> str:
    formatted, problems = format_file("f.yaml", text.encode())
    assert formatted is not None, [p.render() for p in problems]
    return formatted.decode()


def test_the_layout_of_a_messy_file_keeps_every_comment_and_value():
    assert _layout(MESSY) == LAID_OUT
    assert parse(LAID_OUT, "f")[0].data == parse(MESSY, "f")[0].data


def test_the_layout_is_a_fixed_point_for_every_shipped_file():
    for path in sorted(RULES.glob("*.y*ml")):
        formatted = _layout(path.read_text())
        assert _layout(formatted) == formatted, path.name


@pytest.mark.parametrize("given, laid_out", [
    # A comment on a `>` or `|` header stays on it.
    (b"summary: > # shown to users\n  text\n", b"summary: >  # shown to users\n  text\n"),
    # A byte-order mark and other line ends go; the comments after them stay.
    (b"\xef\xbb\xbf# yaml-language-server: $schema=x.json\nagreement: a\n",
     b"# yaml-language-server: $schema=x.json\nagreement: a\n"),
    (b"a: 1\r# about b\rb: 2\r", b"a: 1\n# about b\nb: 2\n"),
    (b"a:\r\n  b: |\r\n    x\r\nc: # c\r\n  1\r\n", b"a:\n  b: |\n    x\nc: 1  # c\n"),
    # A comment after a `- ` or a key whose value is below stays with that entry, not the one before.
    (b"rules:\n  - id: a\n    effect: allow\n  - # deny everything else\n    id: b\n",
     b"rules:\n  - id: a\n    effect: allow\n  # deny everything else\n  - id: b\n"),
    (b"x: 1\na: # about a\n  b\n", b"x: 1\na: b  # about a\n"),
    (b"code:\n  # the code clients show\n  no_ai\nmessage: m\n", b"# the code clients show\ncode: no_ai\nmessage: m\n"),
])
def test_each_comment_stays_with_what_it_was_written_beside(given, laid_out):
    formatted, problems = format_file("f.yaml", given)
    assert formatted == laid_out, problems
    assert format_file("f.yaml", formatted)[0] == formatted


@pytest.mark.parametrize("given", [
    b"a: &x\n  # c\n  1\n", b"- |\n  x\n- &x # c\n  - y\n", b"a: &x |\n  x\n", b"a: !!str |\n  x\n",
    b"a: one\xc2\x85two\n", b"a: 'x\xe2\x80\xa8y'\n",
])
def test_anchors_tags_and_other_line_breaks_are_left_as_they_are(given):
    formatted, problems = format_file("f.yaml", given)
    assert formatted is None and problems  # refused by the layout, or before it by the reader of rule files


def test_a_layout_larger_than_a_rule_file_may_be_is_refused():
    from discretion.policy.load import MAX_FILE_BYTES
    given = ("a: [" + ",".join(["1"] * (MAX_FILE_BYTES // 2 - 8)) + "]\n").encode()
    assert len(given) <= MAX_FILE_BYTES
    formatted, problems = format_file("f.yaml", given)
    assert formatted is None and "more than the" in problems[0].message


def test_values_equal_in_python_but_not_the_same_are_told_apart():
    from discretion.policy.layout import _same
    assert not _same({"a": [1]}, {"a": [1.0]}) and not _same({"a": 1}, {"a": True}) and _same({"a": [1]}, {"a": [1]})


# ---- a property: any data, dumped any way, is laid out without a change of meaning ----------------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp", "Cf", "Co", "Cn")),
            max_size=40),
    st.sampled_from(["yes", "no", "on", "~", "null", "2026-03-01T00:00:00Z", "# x", "a: b", "- a", "{x}", "'q'",
                     "x #y", "0o17", "1e3", ".inf"]),
)
_keys = st.text(alphabet="abcdefghij_.-", min_size=1, max_size=12)
_data = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                       st.dictionaries(_keys, inner, max_size=5)), max_leaves=25)


@settings(max_examples=int(os.environ.get("FMT_EXAMPLES", 300)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(_keys, _data, min_size=1, max_size=6),
       flow=st.sampled_from([None, True, False]), indent=st.integers(2, 6), width=st.sampled_from([20, 80, 200]),
       comment=st.booleans())
def test_any_data_dumped_any_way_is_laid_out_saying_the_same_thing(data, flow, indent, width, comment):
    text = yaml.safe_dump(data, default_flow_style=flow, indent=indent, width=width, allow_unicode=True,
                          sort_keys=False)
    if comment:
        text = "# heading\n" + "".join(line + ("  # note" if not line.rstrip().endswith(("|", ">", "|-", ">-", "|+",
                                                                                         ">+", "\\")) and '"' not in line
                                               and "'" not in line else "") + "\n"
                                       for line in text.splitlines())
    if parse(text, "f")[1]:
        return  # not a file Discretion would read (a comment joined a folded value): nothing to lay out
    formatted = _layout(text)
    assert parse(formatted, "f")[0].data == parse(text, "f")[0].data
    assert _layout(formatted) == formatted
    assert formatted.count("# note") == text.count("# note") and formatted.startswith("# heading") == comment


# ---- the command -------------------------------------------------------------------------------------------


def test_the_shipped_rules_are_in_the_layout():
    result = installed("fmt", "--check", RULES)
    assert result.code == 0, result.out + result.err


def test_check_names_each_file_out_of_the_layout_and_writes_nothing(tmp_path):
    (tmp_path / "messy.yaml").write_text(MESSY)
    (tmp_path / "neat.yaml").write_text(LAID_OUT)

    result = installed("fmt", "--check", "--rules", tmp_path)

    assert result.code == 1
    assert result.out == f"not in the layout: {tmp_path / 'messy.yaml'}\n"
    assert "1 of 2 files not in the layout" in result.err
    assert (tmp_path / "messy.yaml").read_text() == MESSY


def test_diff_shows_the_change_and_writes_nothing(tmp_path):
    (tmp_path / "messy.yaml").write_text(MESSY)

    result = installed("fmt", "--diff", tmp_path / "messy.yaml")

    assert result.code == 1
    assert "-agreement:    demo   # the id\n+agreement: demo  # the id\n" in result.out
    assert (tmp_path / "messy.yaml").read_text() == MESSY


def test_fmt_rewrites_in_place_keeping_the_mode_and_a_link(tmp_path):
    real = tmp_path / "store" / "messy.yaml"
    real.parent.mkdir()
    real.write_text(MESSY)
    os.chmod(real, 0o640)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "messy.yaml").symlink_to(real)

    result = installed("fmt", tmp_path / "rules")

    assert result.code == 0, result.err
    assert result.out == f"laid out: {tmp_path / 'rules' / 'messy.yaml'}\n"
    assert (tmp_path / "rules" / "messy.yaml").is_symlink() and real.read_text() == LAID_OUT
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["messy.yaml"]  # no temporary file left
    assert installed("fmt", "--check", tmp_path / "rules").code == 0


def test_a_file_that_is_no_rule_file_is_reported_at_its_place_and_left_alone(tmp_path):
    broken = "agreement: a\nversions: [\n"
    (tmp_path / "broken.yaml").write_text(broken)
    (tmp_path / "alias.yaml").write_text("a: &x [1]\nb: *x\n")

    result = installed("fmt", tmp_path)

    assert result.code == 3
    assert f"{tmp_path / 'broken.yaml'}:3:1: invalid yaml" in result.err
    assert f"{tmp_path / 'alias.yaml'}:2:1: yaml aliases are not allowed [yaml_alias]" in result.err
    assert (tmp_path / "broken.yaml").read_text() == broken


def test_standard_input_is_laid_out_to_standard_output():
    result = installed("fmt", "-", stdin=MESSY)
    assert (result.code, result.out) == (0, LAID_OUT)
    assert installed("fmt", "-", stdin="a: [\n").code == 3


def test_a_flow_collection_too_long_for_a_line_is_wrapped_at_its_commas_and_within_an_entry_too_long():
    long = ("request: {action: share, actor: me, group: g, items: [{id: t-1, author: au, kind: transcript, "
            "posted_at: 2026-03-01T00:00:00Z, consents: [{by: u-au, scope: share_outside, "
            "granted_at: 2026-03-01T01:00:00Z}, {by: u-bo, scope: attribution}]}], destination: {kind: public}}\n")
    assert _layout(long) == (
        "request: {action: share, actor: me, group: g,\n"
        "          items: [{id: t-1, author: au, kind: transcript, posted_at: 2026-03-01T00:00:00Z,\n"
        "                   consents: [{by: u-au, scope: share_outside, granted_at: 2026-03-01T01:00:00Z},\n"
        "                              {by: u-bo, scope: attribution}]}],\n"
        "          destination: {kind: public}}\n")
    assert all(len(line) <= WIDTH for line in _layout(long).splitlines())


def test_only_a_single_long_value_passes_the_width_in_the_shipped_files():
    for path in sorted(RULES.glob("*.y*ml")):
        for line in _layout(path.read_text()).splitlines():
            if len(line) > WIDTH:  # then one value alone takes most of it
                assert max(map(len, line.split(": "))) > WIDTH // 2, (path.name, line)


def test_a_named_file_that_is_no_rule_file_is_a_usage_error(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nSome   text here   \nmore text\n")
    assert installed("fmt", notes).code == 2 and notes.read_text() == "# Notes\n\nSome   text here   \nmore text\n"


def test_check_and_diff_on_standard_input_say_whether_it_is_in_the_layout():
    assert installed("fmt", "--check", "-", stdin=LAID_OUT).code == 0
    checked = installed("fmt", "--check", "-", stdin=MESSY)
    assert (checked.code, checked.out) == (1, "not in the layout: <stdin>\n")
    diffed = installed("fmt", "--diff", "-", stdin=MESSY)
    assert diffed.code == 1 and "+agreement: demo  # the id" in diffed.out


def test_a_missing_path_is_a_usage_error(tmp_path):
    assert installed("fmt", tmp_path / "nowhere").code == 2


def test_fmt_is_in_the_readme_with_its_check():
    readme = (RULES.parent / "README.md").read_text()
    assert ".venv/bin/discretion fmt --check rules/" in readme
