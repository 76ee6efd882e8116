"""YAML text → plain data, plus the position of every value keyed by its path.

Later passes report problems by path (`("versions", 0, "rules", 2, "when")`)
and look the line and column up here, so the data stays plain and every
diagnostic still points at the exact place in the file.

Stricter than PyYAML's defaults, because a policy must mean what it says:
duplicate keys are an error (PyYAML keeps the last one silently), timestamps
stay strings (the compiler parses them and reports bad ones), aliases are
refused (an alias bomb could exhaust the server's memory, and an alias inside
its own anchor, `&a [*a]`, is a cycle every reader would recurse into; an
anchor alone names nothing anyone reads), so are tags but those of text,
numbers, yes/no and null, and so are numbers that are not finite (`.nan`
compares false with everything, so a condition or a time holding one would
silently never hold) or too long to write back as text.

Every file Discretion reads goes through here: rule files, suites, the tenants
file, and the requests and JSON lines the author tools read (`parse_json`),
so each is bounded the same way.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Diagnostic
from .pace import pace

Path = tuple  # of str | int


# libyaml's parser when PyYAML was built with it: composing 10,000 rules with
# the pure-Python scanner alone takes seconds.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader without implicit timestamps: times are strings until compiled."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Source:
    """One parsed file: its data and where each path sits in it."""

    file: str
    data: Any = None
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    # paths of the strings that hold a control character (`_HIDDEN`)
    hidden: list[Path] = field(default_factory=list)

    def position(self, path: Path) -> tuple[int, int]:
        """The (line, column) of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def diagnostic(self, path: Path, code: str, message: str, *, help: str = "", rule: str = "",
                   severity: str = "error") -> Diagnostic:
        line, column = self.position(path)
        return Diagnostic(code, message, self.file, line, column, rule, help, severity)


# How deep a file may nest (the shipped agreements: 13 levels; a request about
# 6). Everything that reads a file — the schema check, the compiler, lint,
# explain, a replay — recurses over it, so a file nested hundreds deep once
# stopped reloads for good, and a request file as deep crashed the author tools.
MAX_DEPTH = 48
_TOO_DEEP_HELP = ("the shipped agreements nest 13 levels at most, a request fewer: flatten the condition "
                  "(`all:` and `any:` take lists)")
# libyaml refuses on its own to nest past 1,000 levels, with this problem text.
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"


def decode(content: bytes, file: str) -> tuple[str | None, list[Diagnostic]]:
    """The text of a file's bytes, or None and an `encoding` diagnostic: every file Discretion reads is UTF-8."""
    try:
        return content.decode("utf-8"), []
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        column = error.start - (content.rfind(b"\n", 0, error.start) + 1) + 1
        return None, [Diagnostic("encoding", f"the file is not utf-8 ({error.reason})", file, line, column,
                                 help="save the file as UTF-8")]


def _too_deep(file: str, line: int, column: int, depth: int | None = None) -> Diagnostic:
    message = (f"nested {depth} levels deep, more than the {MAX_DEPTH} a file may be" if depth
               else f"nested deeper than the {MAX_DEPTH} levels a file may be")
    return Diagnostic("too_deep", message, file, line, column, help=_TOO_DEEP_HELP)


def parse(text: str, file: str) -> tuple[Source, list[Diagnostic]]:
    source = Source(file=file, lines=text.splitlines())
    problems: list[Diagnostic] = []
    loader = _Loader(text)
    try:
        data = _Composer(source, loader, problems).document()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (error.problem or str(error)).strip()
        if message == _LIBYAML_TOO_DEEP:
            # The same bound, met by the C reader first: the same diagnostic as ours (unless ours was
            # given already, 48 levels up, and the reader met its own while reading past).
            if not any(p.code == "too_deep" for p in problems):
                problems.append(_too_deep(file, line, column))
        elif isinstance(error, yaml.constructor.ConstructorError):  # e.g. an unknown tag such as `!python/object`
            problems.append(Diagnostic("yaml_syntax", f"invalid yaml: {message}", file, line, column,
                                       help="rule files use plain YAML: no tags such as `!name`"))
        else:
            problems.append(Diagnostic("yaml_syntax", f"invalid yaml: {message}", file, line, column,
                                       help="check the indentation and quoting on this line"))
        return source, problems
    except yaml.reader.ReaderError as error:  # a character YAML allows nowhere, at a place in the text
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        character = ord(error.character) if isinstance(error.character, str) else error.character
        problems.append(Diagnostic("yaml_syntax", f"invalid yaml: the character U+{character:04X} is not allowed "
                                   "in a YAML file", file, line, column, help="remove it"))
        return source, problems
    except yaml.YAMLError as error:
        problems.append(Diagnostic("yaml_syntax", f"invalid yaml: {str(error).splitlines()[0]}", file, 1, 1))
        return source, problems
    finally:
        loader.dispose()
    if data is _EMPTY:
        problems.append(Diagnostic("empty_file", "the file is empty", file, 1, 1,
                                   help="a rule file holds one agreement or the bindings"))
        return source, problems
    source.data = data
    return source, problems


_EMPTY = object()
_STR_TAG = "tag:yaml.org,2002:str"
_SKIP = object()  # a value not kept: after a refused key, or a collection too deep
# The scalars a rule file may hold (implicit or written out): text, numbers, yes/no, null.
_SCALAR_TAGS = frozenset("tag:yaml.org,2002:" + kind for kind in ("str", "int", "float", "bool", "null"))
_UNREADABLE = object()
_MAX_INT_BITS = 14_000  # about the 4,300 decimal digits Python will turn into text
# A collection's tag when it has none (None, or `!`), or the plain ones written out.
_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Composer:
    """Builds the data and its positions straight from libyaml's events.

    PyYAML's own composer builds a node with two marks for every value and
    resolves each scalar through Python calls: most of loading 10,000 rules.
    Reading the events once, with a stack instead of recursion, is five times
    faster and cannot overflow, however deep a file nests.
    """

    def __init__(self, source: Source, loader, problems: list[Diagnostic]):
        self.source, self.loader, self.problems = source, loader, problems
        self.resolvers = loader.yaml_implicit_resolvers

    def document(self) -> Any:
        next_event = self.loader.get_event
        next_event()  # the stream's start
        if isinstance(self.loader.peek_event(), yaml.StreamEndEvent):
            return _EMPTY
        next_event()  # the document's start
        data = self.tree()
        next_event()  # the document's end
        extra = next_event()
        if not isinstance(extra, yaml.StreamEndEvent):
            raise yaml.composer.ComposerError("expected a single document in the stream", None,
                                              "but found another document", extra.start_mark)
        return data

    def tree(self) -> Any:
        """The document's root value; every value inside it is placed by a loop over a stack of open collections."""
        positions = self.source.positions
        next_event = self.loader.get_event
        root: list = []
        # Each open collection: (the container, its path, the key whose value comes next or None
        # when a key comes next (mappings), a mapping or not).
        stack: list[list] = [[root, (), None, False]]
        steps = 0
        while True:
            event = next_event()
            steps += 1
            if not steps & 511:
                pace()
            kind = type(event)
            top = stack[-1]
            container, path, key, is_mapping = top
            if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                stack.pop()
                if len(stack) == 1:
                    return root[0]
                continue
            if is_mapping and key is None:  # a key
                key = self.key(event, path, container)
                if key is _SKIP:
                    self.skip(event)  # a refused key's own collection, if it is one
                    top[2] = _SKIP
                else:
                    top[2] = key
                continue
            if key is _SKIP:  # the value of a refused key
                self.skip(event)
                top[2] = None
                continue
            if len(stack) == 1:
                child = ()  # the document's root
            else:
                child = path + ((key,) if is_mapping else (len(container),))
            mark = event.start_mark
            if kind is yaml.ScalarEvent:
                positions[child] = (mark.line + 1, mark.column + 1)
                value = self.scalar(event, child)
            elif kind is yaml.AliasEvent:
                # Point at the key that uses it (an alias bomb is refused here, unexpanded).
                self.problems.append(self.source.diagnostic(child + ("<key>",), "yaml_alias",
                                                            "yaml aliases are not allowed",
                                                            help="write the value out in full instead of `*alias`"))
                value = None
            else:  # a mapping or a sequence starts
                positions[child] = (mark.line + 1, mark.column + 1)
                if len(child) >= MAX_DEPTH:
                    self.problems.append(_too_deep(self.source.file, mark.line + 1, mark.column + 1,
                                                   len(child) + 1))
                    self.skip(event)
                    value = None
                elif event.tag not in _COLLECTION_TAGS:
                    # A scalar's tag goes through the constructor, which refuses the
                    # unknown ones; a mapping or a list is built here, so its tag is
                    # checked here (`!!python/object {…}` must not pass as a mapping).
                    self.problems.append(self.source.diagnostic(
                        child, "yaml_syntax", f"invalid yaml: the tag `{event.tag}` is not read",
                        help="plain YAML only: no tags such as `!name` or `!!set`"))
                    self.skip(event)
                    value = None
                else:
                    value = {} if kind is yaml.MappingStartEvent else []
                    stack.append([value, child, None, kind is yaml.MappingStartEvent])
            if is_mapping:
                container[key] = value
                top[2] = None
            else:
                container.append(value)
            if len(stack) == 1:
                return root[0]

    def key(self, event, path: Path, mapping: dict) -> Any:
        mark = event.start_mark
        if type(event) is not yaml.ScalarEvent:  # a mapping, a list or an alias as a key
            self.problems.append(self.source.diagnostic(path, "yaml_key", "a key must be a plain word"))
            return _SKIP
        key = self.scalar(event, path + (event.value, "<key>"))
        if not isinstance(key, str):
            key = str(key)
        child = path + (key,)
        if key in mapping:
            first = self.source.positions.get(child, (0, 0))[0]
            self.problems.append(Diagnostic(
                "duplicate_key", f"duplicate key `{key}`", self.source.file, mark.line + 1, mark.column + 1,
                help=f"`{key}` is already set on line {first}; keep one of them"))
            return _SKIP
        # The key's own position, so "unknown field" points at the key.
        self.source.positions[child + ("<key>",)] = (mark.line + 1, mark.column + 1)
        return key

    def scalar(self, event, path: Path) -> Any:
        value, tag = event.value, event.tag
        if tag is None or tag == "!":
            tag = _STR_TAG
            if event.implicit[0]:  # plain: `true`, `3` and `null` are not strings
                for resolved, pattern in self.resolvers.get(value[:1], ()):
                    if pattern.match(value):
                        tag = resolved
                        break
        if tag == _STR_TAG:
            if _HIDDEN.search(value):
                self.source.hidden.append(path)
            return value
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        if tag not in _SCALAR_TAGS:
            # `!!set`, `!!binary`, `!!timestamp`, `!!map x`: values a rule file has
            # no use for, which the readers after this one were never written for.
            self.problems.append(Diagnostic("yaml_syntax", f"invalid yaml: the tag `{tag}` is not read",
                                            self.source.file, line, column,
                                            help="plain YAML only: no tags such as `!name` or `!!set`"))
            return None
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
        try:
            constructed = self.loader.construct_object(node)
        except Exception:  # noqa: BLE001 - whatever the constructor makes of a file's text is the file's fault
            constructed = _UNREADABLE
        if constructed is _UNREADABLE or (type(constructed) is int and constructed.bit_length() > _MAX_INT_BITS):
            # `!!bool x`, `!!int x`, or an integer too long to be written back as
            # text (Python refuses past 4,300 digits, which `0x…` escapes on reading).
            shown = value if len(value) <= 40 else value[:40] + "…"
            self.problems.append(Diagnostic(
                "yaml_syntax", f"invalid yaml: `{shown}` is not a value that can be read", self.source.file,
                line, column, help="write a shorter number, or quote it as text"))
            return None
        if isinstance(constructed, float) and not math.isfinite(constructed):
            self.problems.append(Diagnostic(
                "not_finite", f"`{value}` is not a finite number", self.source.file, line, column,
                help="write a number, or a time as ISO 8601 text with a zone"))
            return None
        return constructed

    def skip(self, event) -> None:
        """Read past the rest of the collection `event` starts, if it starts one."""
        if type(event) not in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
            return
        depth = 1
        while depth:
            kind = type(self.loader.get_event())
            if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                depth += 1
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                depth -= 1


# Control characters (but tab and line feed) and the bidirectional embeddings,
# overrides and isolates: written in a title, a rule message or a reason code,
# they reach terminals, web pages and the platform's users, where ESC [ …
# rewrites a line and U+202E reverses it ("deny" shown as "allow"). With them,
# the characters that show nothing and that no policy text needs: the line and
# paragraph separators (a new line to some readers, none to others), the
# zero-width space, word joiner and invisible operators, the byte-order mark
# inside text, and the tag characters (text no reader shows). The
# letter-direction marks U+200E, U+200F, U+061C and the joiners U+200C, U+200D
# (Persian, Indic scripts, emoji) stay allowed. Recorded here
# (`Source.hidden`); the loader refuses them in agreements and bindings, while
# request files may carry any text a request may.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069"
                     "\ufeff\U000e0000-\U000e007f]")


# ---- JSON ---------------------------------------------------------------------------------
# JSON lines (a replay file, the server's decision log) are read with the json
# module, which is much faster than YAML on large logs, under the same bounds:
# the depth a YAML file may nest, and finite numbers only. Python's json takes
# `NaN`, `Infinity` and `1e400` (which it reads as infinity), and recurses once
# per level, so a line nested a thousand deep raises RecursionError.

# The tokens of a line that can hold a problem; strings are matched whole so
# that what they contain is skipped.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|-?Infinity|NaN|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?')


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    raise _NotFinite(name)


def parse_json(text: str, file: str, line: int = 1) -> tuple[Any, list[Diagnostic]]:
    """One JSON document (a line of a JSON-lines file) as plain data, or None and what is wrong with it."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except _NotFinite as error:
        return None, [_json_not_finite(str(error), file, line, text)]
    except RecursionError:
        return None, [_too_deep(file, line, _json_column(text, deep=True))]
    except json.JSONDecodeError as error:
        return None, [Diagnostic("json_syntax", f"invalid json: {error.msg}", file, line, error.colno,
                                 help="each line holds one JSON object")]
    except ValueError:  # an integer of more than 4,300 digits, which Python refuses to read
        return None, [Diagnostic("json_syntax", "invalid json: a number too long to read (more than 4,300 digits)",
                                 file, line, 1, help="each line holds one JSON object")]
    problem = _json_problem(data)
    if problem is None:
        return data, []
    kind, depth = problem
    if kind == "deep":
        return None, [_too_deep(file, line, _json_column(text, deep=True), depth)]
    return None, [_json_not_finite(kind, file, line, text)]


def _json_problem(data: Any) -> tuple[str, int] | None:
    """("deep", depth) for a container nested past MAX_DEPTH, (text, 0) for a number that is not finite; or None.

    Iterative: a structure the json module could build is walked without the
    interpreter's stack, however deep.
    """
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        elif not isinstance(value, list):
            if isinstance(value, float) and not math.isfinite(value):
                return repr(value), 0
            continue
        if depth > MAX_DEPTH:
            return "deep", depth
        pending.extend((child, depth + 1) for child in value)
    return None


def _json_not_finite(text: str, file: str, line: int, source: str) -> Diagnostic:
    return Diagnostic("not_finite", f"`{text}` is not a finite number", file, line, _json_column(source, deep=False),
                      help="write a number, or a time as ISO 8601 text with a zone")


def _json_column(text: str, *, deep: bool) -> int:
    """The column of the first container nested past MAX_DEPTH (`deep`), or of the first number that is not finite."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in ("[", "{"):
            depth += 1
            if deep and depth > MAX_DEPTH:
                return match.start() + 1
        elif token in ("]", "}"):
            depth -= 1
        elif not deep and not token.lstrip("-").isdigit() and not math.isfinite(float(token)):
            return match.start() + 1
    return 1
