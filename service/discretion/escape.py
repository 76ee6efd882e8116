"""Author and request text made safe for where people read it: a terminal, a Markdown file, an HTML page.

Rule files, test suites, requests and decision logs come from people the
reader of `explain`, `matrix`, `diff` or `test` may not trust, and their text
is shown to that reader. Left raw, it can take over what the reader sees: an
escape sequence recolours or erases a line, a carriage return or a backspace
writes over it, a bidi override reverses it (a deny reads as "allowed"), a
`<script>` or a `javascript:` link runs in the page, and a `|` or a newline
breaks a Markdown table. Every renderer puts such text through this module,
for its medium, and nowhere else:

- terminal: every C0 and C1 control character (newline and tab included:
  the report's own layout adds its line breaks after escaping), DEL, the bidi
  controls and the Unicode line and paragraph separators are shown as `\\x1b`,
  `\\u202e`; a backslash is left alone, since the escapes are for the eye and
  nothing reads them back;
- HTML: everything escaped, those characters shown the same way (newlines and
  tabs are whitespace there), and a link only for an absolute http or https
  address, anything else shown as text;
- Markdown: the same, with newlines as spaces and every character that could
  start markup, raw HTML, a link or a table cell escaped, and an http or https
  address as an autolink.
"""

from __future__ import annotations

import html
import re
from typing import Iterable
from urllib.parse import urlsplit

__all__ = [
    "Code", "html_link", "html_parts", "html_text", "markdown_code", "markdown_link", "markdown_parts",
    "markdown_text", "terminal", "terminal_lines", "web_address",
]

_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
# Not controls, but some viewers and editors break the line there, so one could forge a line of the report.
_SEPARATORS = [0x2028, 0x2029]
_SHOWN = [*range(0x20), 0x7F, *range(0x80, 0xA0), *_BIDI, *_SEPARATORS]
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _visible(code: int) -> str:
    """How Python writes the character in a string: `\\n`, `\\x1b`, `\\u202e`."""
    return _NAMED.get(code) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


_TERMINAL = {code: _visible(code) for code in _SHOWN}
# In a page a newline and a tab are whitespace like a space; each medium turns them into layout itself.
_PAGE = {code: shown for code, shown in _TERMINAL.items() if code not in (0x09, 0x0A)}


class Code(str):
    """A piece of text to show as code (a rule id, a condition as written), among plain pieces."""


# ---- terminal -----------------------------------------------------------------------


def terminal(text: str) -> str:
    """`text` for one line of a terminal: every character that could move, hide or reorder what is shown, escaped."""
    return str(text).translate(_TERMINAL)


def terminal_lines(lines: Iterable[str]) -> str:
    """The lines of a report for a terminal, each made safe and ended with a newline.

    A line break inside one of them is the text's, not the layout's, so it is
    shown as `\\n` rather than starting a line that looks like the report's own.
    """
    return "".join(terminal(line) + "\n" for line in lines)


# ---- links ----------------------------------------------------------------------------

# Characters that end an address in Markdown or an attribute in HTML, or that a browser drops from an
# address, so the address followed would differ from the one shown.
_NOT_IN_ADDRESS = frozenset('<>"\'`\\') | frozenset(map(chr, _SHOWN))


def web_address(url: str) -> str | None:
    """`url` when it is an absolute http or https address that is followed as it reads, else None.

    `javascript:`, `data:`, a relative or protocol-relative address, or one
    with spaces, quotes, control or bidi characters is never made a link.
    """
    if not url or any(c.isspace() or c in _NOT_IN_ADDRESS for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced `[` in the host
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


# ---- HTML -----------------------------------------------------------------------------


def html_text(text: str) -> str:
    """`text` as the content of an element or a quoted attribute."""
    return html.escape(str(text).translate(_PAGE), quote=True)


def html_link(url: str) -> str:
    """A link to `url` when it is an http or https address; otherwise the address as text."""
    address = web_address(url)
    if address is None:
        return html_text(url)
    return f'<a href="{html.escape(address, quote=True)}">{html_text(address)}</a>'


def html_parts(*parts: str) -> str:
    """Plain pieces escaped, `Code` pieces escaped inside <code>."""
    return "".join(f"<code>{html_text(p)}</code>" if isinstance(p, Code) else html_text(p) for p in parts)


# ---- Markdown -------------------------------------------------------------------------

# Inline markup (emphasis, code, links, images, raw HTML, autolinks, entities, strikethrough, headings'
# closing marks) and the table cell separator: escaped wherever they are.
_MARKUP = re.compile(r"([\\`*_\[\]<>|&~#])")
# What starts a block (a list item, a heading underline, a thematic break) when it begins a line.
_BLOCK_START = re.compile(r"^(\s*)([-+=]|\d{1,9}(?=[.)]))")
_LINE_BREAKS = re.compile(r"[\n\t]+")


def _one_line(text: str) -> str:
    """Newlines and tabs as a space (a table row or a list item is one line), other controls shown."""
    return _LINE_BREAKS.sub(" ", str(text)).translate(_PAGE)


def markdown_text(text: str) -> str:
    """`text` on one line, every character that could be markup escaped; it renders as written."""
    escaped = _MARKUP.sub(r"\\\1", _one_line(text))
    match = _BLOCK_START.match(escaped)
    if match is None:
        return escaped
    marker = match.group(2)
    if marker[0].isdigit():  # `1.` starts an ordered list: escape its dot or parenthesis
        end = match.end()
        return escaped[:end] + "\\" + escaped[end:]
    return escaped[:match.start(2)] + "\\" + escaped[match.start(2):]


def markdown_code(text: str, *, in_table: bool = False) -> str:
    """A code span that holds `text` literally, however many backticks it has.

    In a table a `|` ends the cell even inside code; GFM reads `\\|` there as the character.
    """
    body = _one_line(text)
    if in_table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    # A space inside each fence keeps a backtick at either end apart from the fence; a span that begins
    # and ends with a space loses one on each side, so the padding is all that is lost.
    pad = " " if body.startswith(("`", " ")) or body.endswith(("`", " ")) else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def markdown_link(url: str) -> str:
    """An autolink to `url` when it is an http or https address; otherwise the address as text."""
    address = web_address(url)
    return f"<{address}>" if address is not None else markdown_text(url)


def markdown_parts(*parts: str, in_table: bool = False) -> str:
    """Plain pieces escaped, `Code` pieces as code spans."""
    return "".join(markdown_code(p, in_table=in_table) if isinstance(p, Code) else markdown_text(p) for p in parts)
