"""One canonical layout for rule files and suites (`discretion fmt`), keeping their comments and what they say.

The layout, so two authors' files read alike and a review shows only what changed:
- two spaces a level; a list's `- ` two spaces in from its key (`versions:` / `  - version: 1`);
- a flow collection (`{code: x, message: y}`, `[share, quote]`) written with one space after each `,` and `:`,
  on one line when it fits in 120 columns, else wrapped at its own commas with each line continuing under its
  first entry; a one-pair mapping inside a list written with its braces (`[{add_notice: x}]`);
- scalars exactly as written (quotes, `>` and `|` blocks, times), so no value is read differently;
- every comment kept, on its line or above the line it stood above, re-indented with it (the
  `# yaml-language-server` line stays first); at most one blank line in a row; no trailing blanks; no `---`.
Keys stay in the author's order, flow stays flow and block stays block: those are the author's choices.

The result is read back and must say exactly what the file said, else the file is refused, not rewritten.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

import yaml

from ..errors import Diagnostic
from ..source import parse
from .load import MAX_FILE_BYTES, rule_file_text

WIDTH = 120
STEP = 2
# libyaml's reader when PyYAML was built with it (the pure-Python one takes 20 s on a 1 MiB file); its marks
# count characters as the Python reader's do.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Line breaks YAML reads besides LF, CRLF and CR: a file holding one is not laid out (rule files never need them).
_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")
BLANKS = " \t"  # YAML's white space; a no-break space is text


@dataclass
class _Line:
    indent: int
    text: str
    first: int  # where in the source the line's first written value starts
    last: int  # where in the source the line's last written value ends
    verbatim: bool = False  # written as it stands (a block scalar's body, a flow collection kept whole)
    comment: str = ""
    verbatim_text: bool = False  # a block scalar's body line: content, which no comment may follow


class _Unformattable(Exception):
    """A construct the layout does not cover (a key that is a collection): the file is left as it is."""


def format_file(name: str, content: bytes) -> tuple[bytes | None, list[Diagnostic]]:
    """The file in the canonical layout, or None with why it cannot be laid out: it is no YAML a rule file may
    be (bounded as every rule file is), or the layout would change what it says."""
    text, problems = rule_file_text(name, content)
    if text is None:
        return None, problems
    before, problems = parse(text, name)
    if problems:
        return None, problems
    try:
        if any(mark in text for mark in _OTHER_BREAKS):
            raise _Unformattable("a line break other than LF, CRLF or CR (U+0085, U+2028 or U+2029)")
        # One kind of line end, and no byte-order mark: what the layout writes.
        plain = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        formatted = _Layout(plain).render()
    except (_Unformattable, yaml.YAMLError, RecursionError) as error:
        return None, [Diagnostic("cannot_format", f"the file has a construct the layout does not cover: {error}",
                                 name, 1, 1, help="the file is left as it is")]
    written = formatted.encode("utf-8")
    if len(written) > MAX_FILE_BYTES:
        return None, [Diagnostic("cannot_format", f"laid out, the file would be {len(written)} bytes, more than the "
                                 f"{MAX_FILE_BYTES} a rule file may be; it is left as it is", name, 1, 1,
                                 help="split it into one agreement per file")]
    after, problems = parse(formatted, name)
    if problems or not _same(after.data, before.data):
        return None, [Diagnostic("cannot_format", "laid out, the file would say something else; it is left as it is",
                                 name, 1, 1, help="please report the file: the layout must never change meaning")]
    return written, []


def _same(a, b) -> bool:
    """Equal and of the same types all the way down: 1, 1.0 and true are equal in Python, and not the same value."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


class _Layout:
    def __init__(self, text: str):
        self.text = text
        self.lines: list[_Line] = []
        self.kept: list[tuple[int, int]] = []  # flow collections kept as written, their comments with them
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]  # where each source line starts

    # ---- the nodes -------------------------------------------------------------------------------------

    def render(self) -> str:
        self._comment_places()  # first: it refuses what the layout does not cover (anchors, tags)
        root = yaml.compose(self.text, Loader=_LOADER)
        if root is not None:
            if isinstance(root, yaml.ScalarNode) or root.flow_style:
                self._value("", root.start_mark.index, root, 0)
            else:
                self._block(root, 0)
        return self._join(self._comments())

    def _block(self, node: yaml.Node, indent: int) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or "\n" in self._source(key):
                    raise _Unformattable(f"a key that is not one line of text, line {key.start_mark.line + 1}")
                self._value(self._source(key) + ":", key.start_mark.index, value, indent)
            return
        for item in node.value:
            mark = len(self.lines)
            if isinstance(item, yaml.MappingNode) and not item.flow_style and item.value:
                self._block(item, indent + STEP)  # its first pair goes on the `- ` line
                first = self.lines[mark]
                first.indent, first.text = indent, "- " + first.text
            elif isinstance(item, yaml.SequenceNode) and not item.flow_style and item.value:
                self._add(indent, "-", item.start_mark.index, item.start_mark.index)
                self._block(item, indent + STEP)
            else:
                self._value("-", item.start_mark.index, item, indent)

    def _value(self, head: str, at: int, node: yaml.Node, indent: int) -> None:
        """`head` (`key:` or `-`, or nothing at the root) and its value, from `indent`."""
        lead = head + " " if head else ""
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("|", ">"):
                self._block_scalar(lead, at, node, indent)
                return
            text = self._source(node)
            if not text:
                self._add(indent, head, at, node.end_mark.index)  # `key:` with nothing: null
                return
            first, *rest = text.split("\n")
            self._add(indent, lead + first, at, node.start_mark.index + len(first))
            # A scalar folded over lines: its continuation lines' leading blanks are not part of it.
            offset = node.start_mark.index + len(first) + 1
            for line in rest:
                self._add(indent + STEP if line.strip(BLANKS) else 0, line.strip(BLANKS), offset, offset + len(line))
                offset += len(line) + 1
        elif node.flow_style or not node.value:
            self._flow(lead, at, node, indent)
        else:
            self._add(indent, head, at, at + len(head))
            self._block(node, indent + STEP)

    def _block_scalar(self, lead: str, at: int, node: yaml.ScalarNode, indent: int) -> None:
        """`>` and `|` text: its header as written, its lines moved as one to two spaces under the key (by the
        key's move, when the header fixes the indentation), so each keeps its place relative to the others."""
        start = node.start_mark
        header_end = self.text.find("\n", start.index)
        line = self.text[start.index:header_end if header_end >= 0 else len(self.text)]
        match = re.match(r"([|>][0-9+-]*)[ \t]*(#.*)?$", line)
        if match is None:
            raise _Unformattable(f"a `|` or `>` header that is not only its indicators, line {start.line + 1}")
        header = match.group(1)
        self._add(indent, lead + header, at, start.index + len(header))
        self.lines[-1].comment = (match.group(2) or "").rstrip(BLANKS)  # within the scalar's token: not found later
        end_line = node.end_mark.line if node.end_mark.column == 0 else node.end_mark.line + 1
        body = [self._source_line(n) for n in range(start.line + 1, min(end_line, len(self.starts)))]
        if "+" not in header:
            while body and not body[-1].strip(" "):
                body.pop()
        written = [len(line) - len(line.lstrip(" ")) for line in body if line.strip(" ")]
        if not written:
            return
        fixed = any(c.isdigit() for c in header)
        shift = (indent - self._column_of(at)) if fixed else (indent + STEP - written[0])
        for number, line in enumerate(body, start.line + 1):
            index = self.starts[number]
            self._add(0, " " * (len(line) - len(line.lstrip(" ")) + shift) + line.lstrip(" ") if line.strip(" ") else "",
                      index, index + len(line), verbatim=True)
            self.lines[-1].verbatim_text = True

    def _flow(self, lead: str, at: int, node: yaml.Node, indent: int) -> None:
        start, end = node.start_mark.index, node.end_mark.index
        if self._has_comment_or_break(node):
            # A comment inside it, or text folded over lines: kept as written, moved with its first line.
            self.kept.append((start, end))
            shift = indent + len(lead) - node.start_mark.column
            first, *rest = self.text[start:end].split("\n")
            self._add(indent, lead + first, at, start + len(first))
            offset = start + len(first) + 1
            for line in rest:
                moved = max(len(line) - len(line.lstrip(" ")) + shift, indent + STEP) if line.strip(BLANKS) else 0
                self._add(0, " " * moved + line.lstrip(" "), offset, offset + len(line), verbatim=True)
                offset += len(line) + 1
            return
        self._wrap(lead, at, node, indent, "")

    def _wrap(self, lead: str, at: int, node: yaml.Node, column: int, tail: str) -> None:
        """`lead`, the flow collection `node` and `tail` (the brackets and comma that follow it), from `column`: on
        one line when they fit, else wrapped at the collection's commas, as many entries a line as fit, each line
        under its first entry; an entry too long for a line of its own is wrapped the same way within."""
        if column + len(lead) + len(self._flat(node)) + len(tail) <= WIDTH or not isinstance(
                node, (yaml.MappingNode, yaml.SequenceNode)) or not node.value:
            self._add(column, lead + self._flat(node) + tail, at, node.end_mark.index)
            return
        opening, closing = ("{", "}") if isinstance(node, yaml.MappingNode) else ("[", "]")
        under = column + len(lead) + 1
        text, line_column, first, last, filled = lead + opening, column, at, at, False
        for number, entry in enumerate(node.value):
            final = number == len(node.value) - 1
            after = closing + tail if final else ","
            written, start, end = self._entry(entry), self._entry_start(entry), self._entry_end(entry)
            joined = f"{text}, {written}" if filled else text + written
            if line_column + len(joined) + len(after) <= WIDTH:
                text, last, filled = joined, end, True
                continue
            if filled:  # a new line for it
                self._add(line_column, text + ",", first, last)
                text, line_column, first = "", under, start
            value = entry[1] if isinstance(entry, tuple) else entry
            if (line_column + len(text) + len(written) + len(after) <= WIDTH
                    or not isinstance(value, (yaml.MappingNode, yaml.SequenceNode)) or not value.value):
                text, last, filled = text + written, end, True  # longer than a line, and nothing to wrap it at
                continue
            key = f"{self._flat(entry[0])}: " if isinstance(entry, tuple) else ""
            self._wrap(text + key, first, value, line_column, after)
            if final:
                return
            text, line_column, first, filled = "", under, self._entry_start(node.value[number + 1]), False
        self._add(line_column, text + closing + tail, first, node.end_mark.index)

    def _flat(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode):
            return self._source(node) or "null"
        if isinstance(node, yaml.MappingNode):
            return "{" + ", ".join(self._entry(pair) for pair in node.value) + "}"
        return "[" + ", ".join(self._entry(item) for item in node.value) + "]"

    def _entry(self, entry) -> str:
        if isinstance(entry, tuple):
            key, value = entry
            if not isinstance(key, yaml.ScalarNode):
                raise _Unformattable(f"a key that is a collection, line {key.start_mark.line + 1}")
            return f"{self._flat(key)}: {self._flat(value)}"
        return self._flat(entry)

    @staticmethod
    def _entry_start(entry) -> int:
        return (entry[0] if isinstance(entry, tuple) else entry).start_mark.index

    @staticmethod
    def _entry_end(entry) -> int:
        return (entry[1] if isinstance(entry, tuple) else entry).end_mark.index

    def _has_comment_or_break(self, node: yaml.Node) -> bool:
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, yaml.ScalarNode):
                if "\n" in self._source(current):
                    return True
            elif isinstance(current, yaml.MappingNode):
                stack += [part for pair in current.value for part in pair]
            else:
                stack += current.value
        places = self._comment_indexes()
        at = bisect.bisect_right(places, node.start_mark.index)
        return at < len(places) and places[at] < node.end_mark.index

    def _comment_indexes(self) -> list[int]:
        if not hasattr(self, "_indexes"):
            self._indexes = [index for index, _ in self._comment_places()]
        return self._indexes

    # ---- the text around the nodes ----------------------------------------------------------------------

    def _source(self, node: yaml.Node) -> str:
        return self.text[node.start_mark.index:node.end_mark.index]

    def _source_line(self, number: int) -> str:
        start = self.starts[number]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def _line_of(self, index: int) -> int:
        low, high = 0, len(self.starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.starts[middle] <= index:
                low = middle
            else:
                high = middle - 1
        return low

    def _column_of(self, index: int) -> int:
        return index - self.starts[self._line_of(index)]

    def _add(self, indent: int, text: str, first: int, last: int, *, verbatim: bool = False) -> None:
        self.lines.append(_Line(indent, text, first, last, verbatim))

    def _comment_places(self) -> list[tuple[int, str]]:
        """Every comment: where its `#` is, and its text. Found between the scanner's tokens, where only
        blanks and comments can be, so a `#` inside a value is never taken for one."""
        if not hasattr(self, "_comments_found"):
            covered = bytearray(len(self.text) + 1)
            for token in yaml.scan(self.text, Loader=_LOADER):
                if isinstance(token, (yaml.AnchorToken, yaml.TagToken)):
                    raise _Unformattable(f"an anchor or a tag, line {token.start_mark.line + 1}: the layout keeps "
                                         "values as written and does not cover them")
                covered[token.start_mark.index:token.end_mark.index] = b"\1" * (
                    token.end_mark.index - token.start_mark.index)
            found = []
            until = 0  # the end of the last comment found: a `#` inside a comment is the comment's
            for match in re.finditer("#", self.text):
                at = match.start()
                if at >= until and not covered[at] and (at == 0 or self.text[at - 1] in " \t\n"):
                    end = self.text.find("\n", at)
                    until = end if end >= 0 else len(self.text)
                    found.append((at, self.text[at:until].rstrip(BLANKS)))
            self._comments_found = found
        return self._comments_found

    def _comments(self) -> list[tuple[int, _Line]]:
        """The written lines with the comments placed among them, each with the source line it stood on (for
        the blank lines). A comment after a value goes on the written line that holds its source line; one on a
        line of its own, or one no written line holds (after a `- ` whose value starts below), goes above the
        first written line that holds anything written after it, indented as that line is."""
        lines = self.lines
        reach = list(itertools.accumulate((line.last for line in lines), max))
        firsts = list(itertools.accumulate((line.first for line in lines), max))
        kept_starts = [start for start, _ in self.kept]
        placed = [((position, 1, 0), self._line_of(line.first), line) for position, line in enumerate(lines)]
        for index, comment in self._comment_places():
            inside = bisect.bisect_right(kept_starts, index) - 1
            if inside >= 0 and index < self.kept[inside][1]:
                continue  # written with the flow collection it is in
            number = self._line_of(index)
            if self.text[self.starts[number]:index].strip(BLANKS):
                owner = bisect.bisect_right(firsts, index) - 1
                if owner >= 0 and not lines[owner].comment and not lines[owner].verbatim_text and (
                        self._line_of(lines[owner].first) <= number
                        <= self._line_of(max(lines[owner].last - 1, lines[owner].first))):
                    lines[owner].comment = comment
                    continue
            position = bisect.bisect_right(reach, index)
            indent = lines[position].indent if position < len(lines) else 0
            placed.append(((position, 0, index), number, _Line(indent, comment, index, index + len(comment))))
        placed.sort(key=lambda entry: entry[0])
        return [(number, line) for _, number, line in placed]

    def _join(self, placed: list[tuple[int, _Line]]) -> str:
        out: list[str] = []
        previous = None  # the source line the last written line ended on
        for number, line in placed:
            if previous is not None and not line.verbatim and number > previous + 1 and any(
                    not self._source_line(n).strip(BLANKS) for n in range(previous + 1, number)):
                out.append("")
            text = " " * line.indent + (line.text if line.verbatim else line.text.rstrip(BLANKS))
            if line.comment:
                text = f"{text}  {line.comment}" if text else line.comment
            out.append(text)
            previous = max(number, self._line_of(max(line.last - 1, line.first)))
        while out and not out[-1]:
            out.pop()
        return "\n".join(out) + "\n" if out else ""
