"""The agreement matrix for people: Markdown, and a self-contained HTML page (no external assets).

Cells read as plain words ("allow", "deny", "allow if you: drop the author's
name; …"); the obligation types and destination kinds stay visible for
authors. The page works offline and prints well.

Titles, summaries, sources, messages and conditions are the rule files'
authors' text: each reaches the page only through discretion/escape.py. The
words shared by both formats are built as pieces, `Code` for what is shown as
code, and each format escapes every piece its own way.
"""

from __future__ import annotations

from ..escape import (
    Code, html_link, html_parts, html_text, markdown_link, markdown_parts, markdown_text,
)
from .matrix import SCENARIO, Cell, Matrix, Note, Outcome, Section

DESTINATIONS = {
    "same_group": "this group",
    "original_exchange_participant": "someone in the original exchange",
    "actor_org_internal": "inside your organization",
    "actor_org_client": "your organization's clients",
    "community_peer": "a peer in the community",
    "external_individual": "someone outside",
    "public": "the public",
    "personal_archive": "your own archive",
    "third_party_service": "a third-party service",
    "ai_tool": "an AI tool",
    "other_group": "another group",
}
OBLIGATIONS = {
    "redact_author_identity": "drop the author's name",
    "redact_author_affiliation": "drop the author's organization",
    "redact_descriptor": "drop any description of the author",
    "use_agreed_descriptor": "describe the author only as agreed",
    "redact_identifying_content": "take names out of the text",
    "redact_participant_identities": "take out the names of people who did not agree",
    "exclude_items": "leave the item out",
    "encrypt_in_transit": "send it encrypted",
    "require_author_consent": "ask the author first",
    "hold_until": "wait until the embargo lifts",
    "preserve_label": "keep the label {}",
    "add_notice": "add the “{}” notice",
    "add_attribution": "credit the author, with a link",
    "notify_affected_members": "tell the members concerned",
}
NOTICES = {"chatham_house_rule": "Chatham House Rule", "personal_use_only": "personal use only",
           "embargoed_until": "embargoed"}
EFFECTS = {
    "allow": "allows",
    "allow_with_obligations": "allows once you {}",
    "require": "requires you to {}",
    "deny": "refuses",
    "deny_unless_allowed": "refuses unless another of its rules allows",
}
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_LONGEST_CONDITION = 160


def destination_words(kind: str) -> str:
    return DESTINATIONS.get(kind, kind.replace("_", " "))


def obligation_words(kind: str, parameter: str = "") -> str:
    text = OBLIGATIONS.get(kind, kind.replace("_", " "))
    if "{}" in text:
        return text.format(NOTICES.get(parameter, parameter.replace("_", " ")) or "…")
    return text


def outcome_words(outcome: Outcome) -> str:
    if outcome.decision == "allow_with_obligations" or outcome.obligations:
        return "allow if you: " + "; ".join(obligation_words(t, p) for t, p in outcome.obligations)
    return outcome.decision


def note_words(note: Note, platform_wide: tuple[str, ...] = ()) -> list[str]:
    """The rule's reason first, for members; then which rule, when, and what it does, for authors."""
    effect = EFFECTS.get(note.effect, note.effect).format(_join([obligation_words(t) for t in note.obligations]))
    every = ", for every group" if note.agreement in platform_wide else ""
    rule = [Code(note.rule), " (", Code(note.agreement), f"{every}) {effect}"]
    detail = ["when ", *_condition(note.when), ", ", *rule] if note.when else rule
    if not note.message:
        return [*(["When "] + detail[1:] if note.when else detail), "."]
    return [f"{note.message[0].upper()}{note.message[1:]}: ", *detail, "."]


def _condition(conjuncts: tuple[str, ...]) -> list[str]:
    """The entries as code joined by "and", cut with "…" where the printed text passes _LONGEST_CONDITION.

    The backticks around each entry count, as they did when this was one string.
    """
    parts: list[str] = [Code(conjuncts[0])] if conjuncts else []
    for text in conjuncts[1:]:
        parts += [" and ", Code(text)]
    if sum(len(p) + 2 * isinstance(p, Code) for p in parts) <= _LONGEST_CONDITION:
        return parts
    cut, room = [], _LONGEST_CONDITION
    for part in parts:
        code = isinstance(part, Code)
        if len(part) + 2 * code > room:
            kept = part[:max(room - code, 0)].rstrip() + "…"
            return cut + [Code(kept) if code else kept]
        cut.append(part)
        room -= len(part) + 2 * code
    return cut


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


def _platform(matrix: Matrix) -> tuple[str, ...]:
    return tuple(key.rpartition("@")[0] for key in matrix.also_in_force)


def _superscript(numbers: tuple[int, ...]) -> str:
    return " ".join(str(n).translate(_SUPERSCRIPTS) for n in numbers)


def _intro(matrix: Matrix) -> list[str]:
    platform: list[str] = []
    for i, key in enumerate(matrix.also_in_force):
        platform += [", with the platform-wide " if i == 0 else " and ", Code(key)]
    if platform:
        platform.append(" in force as for every group")
    beside: list[str] = []
    for i, key in enumerate(matrix.beside):
        beside += [" beside " if i == 0 else " and ", Code(key)]
    use = ["; the recipient states their use as ", Code(matrix.use)] if matrix.use else []
    return ["What a member may do with a message someone else posted, in a group that adopted ", Code(matrix.key),
            *beside, *platform, f". Each answer is decided for an example: {SCENARIO}", *use,
            ". A number marks a rule that reads other facts and would change that answer; see the notes."]


def _section_heading(matrix: Matrix, section: Section) -> list[str]:
    if section.label is None:
        floors: list[str] = []
        for i, (scheme, value) in enumerate(matrix.floors):
            floors += [" (read as " if i == 0 else ", ", Code(f"{scheme}: {value}")]
        return ["Items without a label", *floors, *([")"] if floors else [])]
    return ["Items labelled ", Code(f"{section.label[0]}: {section.label[1]}")]


# ---- Markdown ---------------------------------------------------------------------


def to_markdown(matrix: Matrix) -> str:
    lines = ["# " + markdown_parts(matrix.title, " (", Code(matrix.key), ")"), "", markdown_text(matrix.summary), ""]
    if matrix.source:
        lines += [f"Source: {markdown_link(matrix.source)}", ""]
    lines += [markdown_parts(*_intro(matrix)), ""]
    many = len(matrix.sections) > 1
    for section in matrix.sections:
        if many:
            lines += ["## " + markdown_parts(*_section_heading(matrix, section)), ""]
        lines += ["| to | " + " | ".join(map(markdown_text, matrix.actions)) + " |",
                  "|---" * (len(matrix.actions) + 1) + "|"]
        for kind in matrix.destinations:
            cells = [_markdown_cell(section.cell(action, kind)) for action in matrix.actions]
            row = markdown_parts(destination_words(kind), " (", Code(kind), ")", in_table=True)
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        lines.append("")
    if matrix.notes:
        lines += ["## Notes" if many else "Notes:", ""]
        lines += [f"{note.number}. {markdown_parts(*note_words(note, _platform(matrix)))}" for note in matrix.notes]
        lines.append("")
    return "\n".join(lines)


def _markdown_cell(cell: Cell) -> str:
    verdict, _, steps = outcome_words(cell.outcome).partition(" ")
    return f"**{markdown_text(verdict)}** {markdown_text(steps)} {_superscript(cell.notes)}".replace("  ", " ").strip()


# ---- HTML ---------------------------------------------------------------------------

_STYLE = """
:root { --allow: #e3f4e8; --allow-ink: #0d5c2a; --oblige: #fff3d1; --oblige-ink: #6b4a00;
        --deny: #fbe3e1; --deny-ink: #8c1d13; --line: #d5d9de; --muted: #5b6470; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
       color: #1d232b; margin: 0; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 40px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h1 .key { font: 600 14px ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--muted);
          background: #e9ecf0; border-radius: 6px; padding: 2px 8px; vertical-align: middle; margin-left: 6px; }
h2 { font-size: 18px; margin: 30px 0 10px; }
.summary { font-size: 16px; max-width: 78ch; margin: 10px 0; }
.source a { color: #1a55b0; }
.intro { color: var(--muted); max-width: 90ch; }
.legend { display: flex; gap: 10px; flex-wrap: wrap; margin: 14px 0 4px; padding: 0; list-style: none; }
.legend li { font-size: 13px; }
table { border-collapse: separate; border-spacing: 0; width: 100%; background: #fff;
        border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { text-align: left; vertical-align: top; padding: 9px 11px; border-bottom: 1px solid var(--line); }
tr:last-child th, tr:last-child td { border-bottom: 0; }
thead th { background: #eef1f4; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: #39424d; }
tbody th { font-weight: 600; width: 24%; }
tbody th code, .note code, .intro code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--muted); }
tbody th code { display: block; font-weight: 400; }
td { width: 25.3%; border-left: 1px solid var(--line); }
td.allow { background: var(--allow); }
td.oblige { background: var(--oblige); }
td.deny { background: var(--deny); }
.verdict { font-weight: 700; font-size: 13px; letter-spacing: .03em; text-transform: uppercase;
           display: inline-block; border-radius: 999px; padding: 1px 9px; background: #fff; }
.allow .verdict, .verdict.allow { color: var(--allow-ink); box-shadow: inset 0 0 0 1.5px var(--allow-ink); }
.oblige .verdict, .verdict.oblige { color: var(--oblige-ink); box-shadow: inset 0 0 0 1.5px var(--oblige-ink); }
.deny .verdict, .verdict.deny { color: var(--deny-ink); box-shadow: inset 0 0 0 1.5px var(--deny-ink); }
td ul { margin: 6px 0 0; padding-left: 18px; font-size: 13.5px; }
sup a { color: #1a55b0; text-decoration: none; font-weight: 600; margin-left: 3px; }
ol.notes { max-width: 100ch; padding-left: 22px; }
ol.notes li { margin: 6px 0; }
footer { margin-top: 28px; color: var(--muted); font-size: 12.5px; }
@media print { body { background: #fff; } main { padding: 0; } td, th { break-inside: avoid; } }
"""


def to_html(matrix: Matrix) -> str:
    e = html_text
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(matrix.title)} — what it means</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body><main>",
        f'<h1>{e(matrix.title)}<span class="key">{e(matrix.key)}</span></h1>',
        f'<p class="summary">{e(matrix.summary)}</p>',
    ]
    if matrix.source:
        parts.append(f'<p class="source">Source: {html_link(matrix.source)}</p>')
    parts.append(f'<p class="intro">{html_parts(*_intro(matrix))}</p>')
    parts.append('<ul class="legend"><li><span class="verdict allow">allow</span> may go as asked</li>'
                 '<li><span class="verdict oblige">allow if</span> may go once the listed steps are done</li>'
                 '<li><span class="verdict deny">deny</span> may not go</li></ul>')
    many = len(matrix.sections) > 1
    for section in matrix.sections:
        if many:
            parts.append(f"<h2>{html_parts(*_section_heading(matrix, section))}</h2>")
        parts.append("<table>")
        parts.append("<thead><tr><th>to</th>" + "".join(f"<th>{e(a)}</th>" for a in matrix.actions) + "</tr></thead>")
        parts.append("<tbody>")
        for kind in matrix.destinations:
            row = [f"<th>{e(destination_words(kind))}<code>{e(kind)}</code></th>"]
            row += [_html_cell(section.cell(action, kind)) for action in matrix.actions]
            parts.append("<tr>" + "".join(row) + "</tr>")
        parts.append("</tbody></table>")
    if matrix.notes:
        parts.append("<h2>Notes</h2>")
        parts.append('<ol class="notes">' + "".join(
            f'<li id="note-{n.number}" class="note">{html_parts(*note_words(n, _platform(matrix)))}</li>'
            for n in matrix.notes) + "</ol>")
    parts.append("<footer>Computed by deciding every cell with the compiled rules; "
                 "regenerate it with <code>discretion matrix " + e(matrix.key) + " --format html</code>.</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _html_cell(cell: Cell) -> str:
    e = html_text
    marks = "".join(f'<sup><a href="#note-{n}">{n}</a></sup>' for n in cell.notes)
    outcome = cell.outcome
    if outcome.decision == "deny":
        return f'<td class="deny"><span class="verdict">deny</span>{marks}</td>'
    if not outcome.obligations:
        return f'<td class="allow"><span class="verdict">allow</span>{marks}</td>'
    steps = "".join(f'<li title="{e(t)}">{e(obligation_words(t, p))}</li>' for t, p in outcome.obligations)
    return f'<td class="oblige"><span class="verdict">allow if</span>{marks}<ul>{steps}</ul></td>'
