"""YAML text → plain data, plus the position of every value keyed by its path.

Later passes report problems by path (`("versions", 0, "rules", 2, "when")`)
and look the line and column up here, so the data stays plain and every
diagnostic still points at the exact place in the file.

Stricter than PyYAML's defaults, because a policy must mean what it says:
duplicate keys are an error (PyYAML keeps the last one silently), timestamps
stay strings (the compiler parses them and reports bad ones), anchors and
aliases are refused (an alias bomb could exhaust the server's memory, and an
alias inside its own anchor, `&a [*a]`, is a cycle every reader would recurse
into), and so are numbers that are not finite (`.nan` compares false with
everything, so a condition or a time holding one would silently never hold).

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
        node = loader.get_single_node()
    except RecursionError:
        # Nested past what the YAML reader's recursion can hold (thousands of
        # levels): where it was reading when it gave up is where to look.
        mark = loader.get_mark()
        problems.append(_too_deep(file, mark.line + 1, mark.column + 1))
        return source, problems
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (error.problem or str(error)).strip()
        if message == _LIBYAML_TOO_DEEP:
            # The same bound, met by the C reader first: the same diagnostic as the Python one's.
            problems.append(_too_deep(file, line, column))
            return source, problems
        problems.append(Diagnostic("yaml_syntax", f"invalid yaml: {message}", file, line, column,
                                   help="check the indentation and quoting on this line"))
        return source, problems
    except yaml.YAMLError as error:
        problems.append(Diagnostic("yaml_syntax", f"invalid yaml: {error}", file, 1, 1))
        return source, problems
    finally:
        loader.dispose()
    if node is None:
        problems.append(Diagnostic("empty_file", "the file is empty", file, 1, 1,
                                   help="a rule file holds one agreement or the bindings"))
        return source, problems
    try:
        source.data = _build(node, (), source, loader, problems, anchors=set())
    except yaml.MarkedYAMLError as error:  # e.g. an unknown tag such as `!python/object`
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Diagnostic("yaml_syntax", f"invalid yaml: {(error.problem or str(error)).strip()}",
                                   file, line, column, help="rule files use plain YAML: no tags such as `!name`"))
    return source, problems


def _build(node, path: Path, source: Source, loader, problems: list[Diagnostic], anchors: set) -> Any:
    if id(node) in anchors:
        # An alias: the node was built already. Point at the key that uses it.
        problems.append(source.diagnostic(path + ("<key>",), "yaml_alias", "yaml aliases are not allowed",
                                          help="write the value out in full instead of `*alias`"))
        return None
    source.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    anchors.add(id(node))
    if len(path) >= MAX_DEPTH and isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        line, column = source.position(path)
        problems.append(_too_deep(source.file, line, column, len(path) + 1))
        return None
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
        # A scalar's tag goes through the constructor, which refuses the
        # unknown ones; a mapping or a list is built here, so its tag is
        # checked here (`!!python/object {…}` must not pass as a mapping).
        problems.append(source.diagnostic(path, "yaml_syntax", f"invalid yaml: the tag `{node.tag}` is not read",
                                          help="plain YAML only: no tags such as `!name` or `!!set`"))
        return None
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(source.diagnostic(path, "yaml_key", "a key must be a plain word"))
                continue
            key = _scalar(key_node, loader)
            if not isinstance(key, str):
                key = str(key)
            child = path + (key,)
            if key in result:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                first = source.positions.get(child, (0, 0))[0]
                problems.append(Diagnostic(
                    "duplicate_key", f"duplicate key `{key}`", source.file, line, col,
                    help=f"`{key}` is already set on line {first}; keep one of them"))
                continue
            # The key's own position, so "unknown field" points at the key.
            source.positions[child + ("<key>",)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _build(value_node, child, source, loader, problems, anchors)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), source, loader, problems, anchors) for i, item in enumerate(node.value)]
    try:
        value = _scalar(node, loader)
    except ValueError:
        # A number Python will not read (an integer of more than 4,300
        # digits; `!!int x`): the file is at fault, not the reader.
        shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
        problems.append(source.diagnostic(path, "yaml_syntax", f"invalid yaml: `{shown}` is not a number that can be read",
                                          help="write a shorter number, or quote it as text"))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(source.diagnostic(path, "not_finite", f"`{node.value}` is not a finite number",
                                          help="write a number, or a time as ISO 8601 text with a zone"))
        return None
    return value


_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _scalar(node, loader) -> Any:
    # Most scalars of a rule file are strings, whose value is their text as
    # the parser read it; the constructor's dispatch cost more than the rest
    # of building them (a tenth of compiling 10,000 rules).
    if node.tag == _STR_TAG:
        return node.value
    return loader.construct_object(node)


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
