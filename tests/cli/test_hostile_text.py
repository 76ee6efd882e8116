"""Text from rule files, suites, requests and decision logs reaches the reader only escaped for where it is read.

The commands run installed, and their output is read as bytes: a carriage
return has to arrive as the two characters `\\r`, never as the byte a
terminal obeys (text mode would turn it into a newline and hide it). Each
hostile text erases the line (ESC [2K), returns to its start (CR) and reverses
what follows (U+202E), which on a terminal makes a refusal read as "allowed".

A loader may refuse control characters in rule files, and non-web sources:
where it does (exit 3), the refusal is all the reader sees, and it must be
escaped too. Requests and decision logs are never refused for their text.
"""

from __future__ import annotations

import html.parser
import json
import subprocess

import pytest
from markdown_it import MarkdownIt

from discretion.escape import html_link, markdown_link, markdown_text, web_address
from discretion.cli.common import EXIT_RULE_ERRORS, render_with_source
from discretion.errors import Diagnostic

from .conftest import DISCRETION, RULES, Result, edit

HOSTILE = r"\e[2K\r\u202eallowed"  # as a double-quoted YAML string writes it
HOSTILE_TEXT = "\x1b[2K\r\u202eallowed"  # what it is, for JSON
RAW = ("\x1b", "\r", "\u202e")
SHOWN = ("\\x1b[2K", "\\r", "\\u202e")
MARKUP = "<script>alert(1)</script> <img src=x onerror=alert(1)> [click](javascript:alert(1)) | **b**"
COMMONMARK = MarkdownIt("commonmark").enable("table")
CHATHAM_HOUSE = "https://www.chathamhouse.org/about-us/chatham-house-rule"


def run(*argv) -> Result:
    """The installed command, its output decoded without turning carriage returns into newlines."""
    done = subprocess.run([str(DISCRETION), *map(str, argv)], capture_output=True, timeout=120)
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())


def assert_escaped(text: str) -> None:
    for raw in RAW:
        assert raw not in text, f"{raw!r} reached the reader raw"
    for shown in SHOWN:
        assert shown in text, f"{shown} is not shown"


def refused(result: Result, ran: int = 0) -> bool:
    """Whether the rules were refused (else the command exited `ran`); a refusal must itself show nothing raw."""
    assert result.code in (ran, EXIT_RULE_ERRORS), result.out + result.err
    for raw in RAW:
        assert raw not in result.out + result.err
    return result.code == EXIT_RULE_ERRORS


class _Page(html.parser.HTMLParser):
    """The tags and link targets an HTML text makes."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))


def _rendered_markdown(text: str) -> _Page:
    """What a CommonMark renderer makes of Markdown, with raw HTML passed through (its default)."""
    return _Page(COMMONMARK.render(text))


# ---- the matrix: links and markup --------------------------------------------------------


def test_a_javascript_source_is_text_in_html_and_markdown_never_a_link(rules_copy):
    edit(rules_copy / "chatham-house.yaml", f"source: {CHATHAM_HOUSE}", "source: javascript:alert(1)")
    page = run("matrix", "chatham-house", "--rules", rules_copy, "--format", "html")
    if refused(page):
        return
    assert [link for link in _Page(page.out).links if not link.startswith("#")] == []
    assert '<p class="source">Source: javascript:alert(1)</p>' in page.out
    markdown = run("matrix", "chatham-house", "--rules", rules_copy)
    assert _rendered_markdown(markdown.out).links == []
    assert "Source: javascript:alert(1)\n" in markdown.out


def test_a_web_source_is_the_one_link_in_html_and_markdown():
    page = run("matrix", "chatham-house", "--rules", RULES, "--format", "html")
    assert [link for link in _Page(page.out).links if not link.startswith("#")] == [CHATHAM_HOUSE]
    markdown = run("matrix", "chatham-house", "--rules", RULES)
    assert _rendered_markdown(markdown.out).links == [CHATHAM_HOUSE]


def test_markup_in_a_title_and_a_message_is_text_in_html_and_markdown(rules_copy):
    edit(rules_copy / "chatham-house.yaml", "title: Chatham House Rule", f"title: {json.dumps(MARKUP)}")
    edit(rules_copy / "chatham-house.yaml",
         'message: "the session had a single speaker, so anything reported from it identifies them"',
         f"message: {json.dumps(MARKUP + ' `a` ``b`` `')}")
    # A condition is shown as code: a backtick in it must not end the code span and let markup out.
    edit(rules_copy / "chatham-house.yaml", "when: {item.session.speaker_count: 1,",
         'when: {item.session.segment: {ne: "`<img src=x onerror=alert(1)>`"}, item.session.speaker_count: 1,')
    page = run("matrix", "chatham-house", "--rules", rules_copy, "--format", "html")
    assert page.code == 0, page.err
    tags = _Page(page.out)
    assert "script" not in tags.tags and "img" not in tags.tags
    assert [link for link in tags.links if not link.startswith("#")] == [CHATHAM_HOUSE]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.out
    markdown = run("matrix", "chatham-house", "--rules", rules_copy)
    assert markdown.code == 0, markdown.err
    rendered = COMMONMARK.render(markdown.out)
    made = _Page(rendered)
    assert "script" not in made.tags and "img" not in made.tags and made.links == [CHATHAM_HOUSE]
    # The cells' verdicts are the only bold there is: the title's `**b**` stays two asterisks.
    assert made.tags.count("strong") == markdown.out.count("**allow**") + markdown.out.count("**deny**")
    assert "**b**" in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    # The message's backticks neither open code nor swallow the rule's condition that follows them.
    note = next(line for line in rendered.splitlines() if line.startswith("<li>") and "click" in line)
    assert ("`a` ``b`` `: when <code>item.session.segment: {ne: `&lt;img src=x onerror=alert(1)&gt;`}</code> and "
            "<code>item.session.speaker_count: 1</code>") in note


def test_a_pipe_or_a_newline_in_markdown_text_leaves_a_table_row_whole():
    table = COMMONMARK.render(f"| a | b |\n|---|---|\n| {markdown_text('x | y' + chr(10) + '| z')} | w |\n")
    assert table.count("<td>") == 2 and "<td>x | y | z</td>" in table


# ---- control characters in rule files -----------------------------------------------------


def _hostile_rules(rules):
    edit(rules / "chatham-house.yaml", "title: Chatham House Rule", f'title: "Chatham {HOSTILE}"')
    edit(rules / "chatham-house.yaml",
         'message: "the session had a single speaker, so anything reported from it identifies them"',
         f'message: "the session had a single speaker {HOSTILE}"')
    return rules


@pytest.mark.parametrize("form", ["markdown", "html"])
def test_control_characters_in_a_title_and_a_message_are_shown_in_the_matrix(rules_copy, form):
    result = run("matrix", "chatham-house", "--rules", _hostile_rules(rules_copy), "--format", form)
    if refused(result):
        return
    if form == "markdown":
        assert "\\\\x1b" in result.out  # the escape's backslash is itself escaped, so it renders
        assert_escaped(COMMONMARK.render(result.out))
    else:
        assert_escaped(result.out)
    assert sum(result.out.count(shown) for shown in ("\\u202e", "\\\\u202e")) >= 2  # in the title and the note


QUOTE = """fixtures:
  people:
    chen: {id: u-chen, display_name: Li Chen, organization: Northwind Bank}
request:
  action: quote
  requested_at: 2026-03-02T09:00:00Z
  actor: {id: ACTOR, member: true}
  group: {id: g, adoptions: [{agreement: chatham-house, version: 1, effective_from: 2026-02-01T00:00:00Z}]}
  items:
    - {id: ITEM, author: chen, posted_at: 2026-03-01T10:00:00Z, session: {speaker_count: 1}, consents: CONSENTS}
  destination: {kind: public}
  attribution: {author_identity: true}
"""


def _quote(tmp_path, actor="u-ana", item="m-1", consents="[]"):
    path = tmp_path / "quote.yaml"
    path.write_text(QUOTE.replace("ACTOR", actor).replace("ITEM", item).replace("CONSENTS", consents))
    return path


def test_a_rule_message_with_control_characters_is_shown_by_explain(rules_copy, tmp_path):
    result = run("explain", _quote(tmp_path), "--rules", _hostile_rules(rules_copy))
    if refused(result):
        return
    reason = next(line for line in result.out.splitlines() if line.startswith("  reason: "))
    assert reason.startswith("  reason: denied: the session had a single speaker ")
    assert_escaped(reason)


def test_a_rule_message_with_control_characters_is_shown_by_test(rules_copy):
    suite = _hostile_rules(rules_copy) / "hostile.test.yaml"
    suite.write_text("""suite: chatham-house
cases:
  - name: a refusal expected to be allowed
    request:
      action: quote
      requested_at: 2026-03-02T09:00:00Z
      actor: {id: u-ana, member: true}
      group: {id: g, adoptions: [{agreement: chatham-house, version: 1}]}
      items: [{id: m-1, author: {id: u-chen}, posted_at: 2026-03-01T10:00:00Z, session: {speaker_count: 1}}]
      destination: {kind: public}
    expect: {decision: allow}
""")
    result = run("test", suite)
    if refused(result, ran=4):
        return
    assert_escaped(next(line for line in result.out.splitlines() if line.startswith("  reason: ")))


# ---- requests, suites and decision logs: never refused for their text -----------------------


def test_request_text_is_shown_escaped_by_explain(tmp_path):
    quote = _quote(tmp_path, actor=f'"u-ana {HOSTILE}"', item=f'"m-1 {HOSTILE}"',
                   consents=f'[{{by: u-chen, scope: "nothing {HOSTILE}"}}]')
    result = run("explain", quote, "--rules", RULES)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert_escaped(lines[0])  # the actor
    assert_escaped(next(line for line in lines if line.startswith("item m-1 ")))
    assert_escaped(next(line for line in lines if line.startswith("note: consent `nothing ")))
    assert lines[-1].startswith("note: ") and lines.count("decision: deny") == 1


def test_a_request_read_from_standard_input_is_shown_escaped_too(tmp_path):
    done = subprocess.run([str(DISCRETION), "explain", "-", "--rules", str(RULES)], capture_output=True, timeout=120,
                          input=_quote(tmp_path, item=f'"m-1 {HOSTILE}"').read_bytes())
    assert done.returncode == 0, done.stderr
    assert_escaped(done.stdout.decode())


def _loosened(rules):
    """Speakers may be named to colleagues in the reader's own organization: quotes to them change."""
    edit(rules / "chatham-house.yaml",
         "destinations: {except: [same_group, original_exchange_participant, personal_archive]}\n"
         "        when: {not: {author_consented: attribution}}",
         "destinations: {except: [same_group, original_exchange_participant, personal_archive, actor_org_internal]}\n"
         "        when: {not: {author_consented: attribution}}")
    return rules


def test_replayed_decision_log_lines_and_case_names_are_shown_escaped_by_diff(rules_copy, tmp_path):
    log = tmp_path / "decisions.jsonl"
    log.write_text(json.dumps({"decision": f"deny {HOSTILE_TEXT}", "action": "quote",
                               "destination_kind": "actor_org_internal", "agreements": ["chatham-house@1"]}) + "\n")
    suite = tmp_path / "cases.yaml"
    suite.write_text(f"""cases:
  - name: "a quote to colleagues {HOSTILE}"
    request:
      action: quote
      requested_at: 2026-03-02T09:00:00Z
      actor: {{id: u-ana, member: true}}
      group: {{id: g, adoptions: [{{agreement: chatham-house, version: 1}}]}}
      items: [{{id: m-1, author: {{id: u-chen}}, posted_at: 2026-03-01T10:00:00Z}}]
      destination: {{kind: actor_org_internal}}
      attribution: {{author_identity: true}}
""")
    result = run("diff", RULES, _loosened(rules_copy), "--replay", log, "--replay", suite)
    assert result.code == 1, result.out + result.err
    lines = result.out.splitlines()
    assert_escaped(next(line for line in lines if "decisions.jsonl:1: may change" in line))
    assert_escaped(next(line for line in lines if "a quote to colleagues" in line))


def test_a_replayed_request_diff_cannot_read_is_reported_escaped(tmp_path):
    replay = tmp_path / "requests.jsonl"
    replay.write_text(json.dumps({"action": "share", "actor": {"id": "a"}, "group": {"id": "g"}, "destination":
                                  {"kind": "public"}, "items": [{"id": "i", "author": {"id": "b"},
                                                                 "posted_at": f"soon {HOSTILE_TEXT}"}]}) + "\n")
    result = run("diff", RULES, RULES, "--replay", replay)
    assert result.code == 2, result.out + result.err
    assert_escaped(result.err)


def test_a_suites_case_names_and_values_are_shown_escaped_by_test(rules_copy):
    suite = rules_copy / "tlp.test.yaml"
    edit(suite, "cases:\n", f'cases:\n  - name: "nothing to see {HOSTILE}"\n'
                            "    request: {base: share}\n"
                            f'    expect: {{decision: deny, reasons: ["x {HOSTILE}"]}}\n')
    result = run("test", "--verbose", suite)
    assert result.code in (EXIT_RULE_ERRORS, 4), result.out + result.err
    assert_escaped(result.out)


# ---- what lint shows of a file ----------------------------------------------------------------


def test_lint_shows_a_files_raw_control_characters_escaped(tmp_path):
    (tmp_path / "broken.yaml").write_bytes(b"# \x1b[2K\r\xe2\x80\xae allowed\nagreement: broken\n")
    result = run("lint", tmp_path)
    assert result.code == EXIT_RULE_ERRORS
    assert "\\x1b[2K" in result.out and "\x1b" not in result.out and "\r" not in result.out


def test_lint_refuses_an_authors_control_characters_at_their_place_showing_none(rules_copy):
    edit(rules_copy / "chatham-house.yaml", "when: {item.kind: [attendee_list, member_list]}",
         f'when: {{"item.knd {HOSTILE}": [attendee_list, member_list]}}')
    result = run("lint", rules_copy)
    assert result.code == EXIT_RULE_ERRORS
    assert "chatham-house.yaml:" in result.out and "[control_character]" in result.out
    for raw in RAW:
        assert raw not in result.out + result.err
    # The quoted source line shows them escaped, with the caret under the place.
    assert "\\u202eallowed" in result.out


def test_the_caret_stays_under_its_column_after_escapes(tmp_path):
    rules = tmp_path / "r.yaml"
    rules.write_text("when: {item.kind: \"\u202ex\", item.knd: y}\n")
    column = rules.read_text().index("item.knd") + 1
    shown = render_with_source(Diagnostic("unknown_fact", "unknown fact `item.knd`", str(rules), 1, column)).split("\n")
    assert shown[2] == '1 | when: {item.kind: "\\u202ex", item.knd: y}'
    assert shown[3].index("^") == shown[2].index("item.knd")


# ---- which addresses are links ------------------------------------------------------------------


@pytest.mark.parametrize("url, linked", [
    ("https://www.chathamhouse.org/about-us/chatham-house-rule", True),
    ("http://example.org/a_b*c?d=(e)", True),
    ("HTTPS://EXAMPLE.ORG/", True),
    ("javascript:alert(1)", False),
    ("JavaScript:alert(1)", False),
    ("java\tscript:alert(1)", False),  # browsers drop the tab and run it
    (" javascript:alert(1)", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("vbscript:msgbox(1)", False),
    ("//evil.example/", False),
    ("/relative/page", False),
    ("https:", False),
    ("https://example.org/\" onmouseover=\"alert(1)", False),
    ("https://example.org/><script>alert(1)</script>", False),
    ("https://exa\u202emple.org/", False),
    ("https://[::1", False),
    ("", False),
])
def test_only_an_absolute_web_address_is_a_link(url, linked):
    assert (web_address(url) == url) is linked
    assert ("<a href=" in html_link(url)) is linked
    assert _rendered_markdown(markdown_link(url)).links == ([url] if linked else [])
    if not linked:
        assert "<" not in html_link(url)  # no tag at all: the address is text


def test_a_long_line_is_shown_around_its_column_not_whole(tmp_path):
    """A flow-style file can be one line of a megabyte: its diagnostics once printed the whole line each."""
    rules = tmp_path / "r.yaml"
    line = "when: {" + ", ".join(f"item.kind{i}: x" for i in range(3000)) + ", item.knd: y}"
    rules.write_text(line + "\n")
    column = line.index("item.knd:") + 1
    shown = render_with_source(Diagnostic("unknown_fact", "unknown fact `item.knd`", str(rules), 1, column)).split("\n")
    assert len(line) > 40_000 and all(len(row) < 200 for row in shown)
    assert shown[2].startswith("1 | …") and shown[2].endswith("y}")  # cut before, not after: the line ends there
    assert shown[2][shown[3].index("^"):].startswith("item.knd: y}")
