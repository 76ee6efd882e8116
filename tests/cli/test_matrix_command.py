"""`discretion matrix`: every cell decided by the compiled rules; Markdown and a self-contained HTML page."""

from __future__ import annotations

import html.parser
import shutil
import subprocess
from collections import Counter

import pytest

from discretion.author.matrix import build_matrix, select
from discretion.author.workspace import load_rules

from .conftest import RULES, edit, installed, invoke
from .png import read_png

SHIPPED = load_rules(RULES)


def matrix(name: str, rules=SHIPPED):
    return build_matrix(rules.policy, rules.documents, select(rules.policy, name))


def test_chatham_house_cells_are_the_decisions_of_the_rules():
    chatham = matrix("chatham-house")
    table, withheld = chatham.sections  # items without a label, and those whose label withholds the source
    assert withheld.cell("quote", "public").outcome == table.cell("quote", "public").outcome
    assert withheld.cell("share", "same_group").outcome.decision == "allow"
    same_group = table.cell("quote", "same_group").outcome
    assert (same_group.decision, same_group.obligations) == ("allow", ())
    public = table.cell("quote", "public").outcome
    assert public.decision == "allow_with_obligations"
    assert {t for t, _ in public.obligations} >= {"redact_author_identity", "redact_author_affiliation",
                                                  "redact_identifying_content"}
    archive = table.cell("export", "personal_archive").outcome
    assert ("add_notice", "chatham_house_rule") in archive.obligations
    # The single-speaker rule reads a fact beyond the table: a note on the quote, none inside the group.
    context = next(n for n in chatham.notes if n.rule == "identified-by-context")
    assert context.number in table.cell("quote", "public").notes
    assert context.number not in table.cell("quote", "same_group").notes
    assert "item.session.speaker_count: 1" in context.when


def test_an_agreement_that_reads_labels_gets_a_table_per_label_value():
    tlp = matrix("tlp")
    assert [s.title for s in tlp.sections] == ["no label", "tlp: clear", "tlp: green", "tlp: amber",
                                              "tlp: amber+strict", "tlp: red"]
    by_title = {s.title: s for s in tlp.sections}
    assert by_title["tlp: clear"].cell("share", "public").outcome.decision == "allow"
    assert by_title["tlp: red"].cell("share", "public").outcome.decision == "deny"
    green_peer = by_title["tlp: green"].cell("share", "community_peer")
    assert green_peer.outcome.decision == "deny"  # the example names no recipients in the community...
    within = next(n for n in tlp.notes if n.rule == "within-label")
    assert within.number in green_peer.notes  # ...and the note says which rule allows it when they are


def test_a_change_to_a_rule_changes_its_cells(rules_copy):
    edit(rules_copy / "chatham-house.yaml", "      - id: information-may-be-used\n        actions: [share, quote]",
         "      - id: information-may-be-used\n        actions: [share]")
    changed = matrix("chatham-house", load_rules(rules_copy))
    assert changed.sections[0].cell("quote", "public").outcome.decision == "deny"
    assert changed.sections[0].cell("share", "public").outcome.decision == "allow_with_obligations"


def test_markdown_names_each_destination_and_numbers_the_notes():
    result = invoke("matrix", "chatham-house", "--rules", RULES)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "# Chatham House Rule (`chatham-house@1`)"
    assert "| to | share | quote | export |" in lines
    row = next(line for line in lines if line.startswith("| the public (`public`) |"))
    assert row.count("**allow** if you: ") == 3 and "drop the author's name" in row
    assert any(line.startswith("1. ") for line in lines)


def test_unknown_agreement_or_version_is_a_usage_error_with_a_suggestion():
    result = invoke("matrix", "chatam-house", "--rules", RULES)
    assert result.code == 2 and "did you mean `chatham-house`?" in result.err
    result = invoke("matrix", "chatham-house@9", "--rules", RULES)
    assert result.code == 2 and "`chatham-house` has no version `9`" in result.err


def test_broken_rules_are_reported_not_tabulated(rules_copy):
    edit(rules_copy / "chatham-house.yaml", "item.kind:", "item.knd:")
    result = invoke("matrix", "chatham-house", "--rules", rules_copy)
    assert result.code == 3 and "[unknown_fact]" in result.err and result.out == ""


class _Page(html.parser.HTMLParser):
    """Collects what a page would fetch, and checks its tags close."""

    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.fetches: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "link", "iframe", "object", "embed", "source") or "src" in attrs:
            self.fetches.append(tag)
        if tag == "a":
            self.links.append(attrs.get("href", ""))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def test_the_html_page_is_self_contained_and_well_formed(tmp_path):
    page = tmp_path / "chatham-house.html"
    result = invoke("matrix", "chatham-house", "--rules", RULES, "--format", "html", "--output", page)
    assert result.code == 0, result.err
    text = page.read_text()
    parser = _Page()
    parser.feed(text)
    assert parser.open == [] and parser.fetches == []
    assert "url(" not in text and "@import" not in text
    # The only address is the agreement's source, a link to follow, not an asset to load.
    assert [link for link in parser.links if not link.startswith("#")] == ["https://www.chathamhouse.org/about-us/chatham-house-rule"]
    assert text.count('class="deny"') >= 2 and text.count('class="oblige"') >= 10


ALLOW, OBLIGE, DENY = (bytes.fromhex(c) for c in ("e3f4e8", "fff3d1", "fbe3e1"))  # the cells' backgrounds


def test_the_html_page_renders_in_headless_chromium(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("SKIPPED LOUDLY: chromium not found (Debian package `chromium`; `make test` installs it when it "
                    "runs as root): the matrix page was not rendered")
    page, shot = tmp_path / "tlp.html", tmp_path / "tlp.png"
    assert invoke("matrix", "tlp", "--rules", RULES, "--format", "html", "--output", page).code == 0
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2400",
         page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, rows = read_png(shot.read_bytes())
    assert (width, height) == (1280, 2400)
    colours = Counter(row[i:i + 3] for row in rows[::3] for i in range(0, len(row), 9))
    total = sum(colours.values())
    # The unlabelled table is mostly refusals, the TLP:CLEAR one all permissions: both colours fill whole cells.
    assert colours[DENY] > total * 0.05 and colours[ALLOW] > total * 0.02, colours.most_common(6)
    assert colours[OBLIGE] > 0


def test_the_installed_command_prints_the_matrix(tmp_path):
    result = installed("matrix", "no-ai", "--rules", RULES)
    assert result.code == 0, result.err
    assert "| an AI tool (`ai_tool`) | **deny** | **deny** | **deny** |" in result.out


def test_an_agreement_that_only_restricts_shows_what_it_takes_away_beside_one_that_permits():
    shipped = SHIPPED.policy
    alone = matrix("pap")
    beside = build_matrix(shipped, SHIPPED.documents, select(shipped, "pap"),
                          beside=(select(shipped, "open-with-opt-out"),), use="lookup")
    by_label = {section.label: section for section in beside.sections}
    # Alone it permits nothing outside the group; beside `open-with-opt-out` unlabelled items go as that says.
    assert alone.sections[0].cell("share", "community_peer").outcome.decision == "deny"
    assert by_label[None].cell("share", "community_peer").outcome.decision == "allow_with_obligations"
    # A look-up: AMBER lets it reach a look-up service but no AI tool; RED neither.
    assert by_label[("pap", "amber")].cell("share", "third_party_service").outcome.decision != "deny"
    assert by_label[("pap", "amber")].cell("share", "ai_tool").outcome.decision == "deny"
    assert by_label[("pap", "red")].cell("share", "third_party_service").outcome.decision == "deny"
    # The stated use settles the rules that read it: no note for them.
    assert not {n.rule for n in beside.notes} & {"amber-passive-or-lookup", "green-actions-only"}
    text = invoke("matrix", "pap", "--with", "open-with-opt-out", "--use", "lookup", "--rules", str(RULES)).out
    assert "adopted `pap@1` beside `open-with-opt-out@1`" in text and "states their use as `lookup`" in text


def test_an_unknown_agreement_beside_is_a_usage_error_with_a_suggestion():
    result = invoke("matrix", "pap", "--with", "open-with-opt-ot", "--rules", str(RULES))
    assert result.code == 2 and "unknown agreement `open-with-opt-ot`" in result.err
    assert "open-with-opt-out" in result.err.split("help:")[1]
