"""YAML text → plain data, plus the position of every value keyed by its path.

Later passes report problems by path (`("versions", 0, "rules", 2, "when")`)
and look the line and column up here, so the data stays plain and every
diagnostic still points at the exact place in the file.

Stricter than PyYAML's defaults, because a policy must mean what it says:
duplicate keys are an error (PyYAML keeps the last one silently), timestamps
stay strings (the compiler parses them and reports bad ones), and anchors and
aliases are refused (an alias bomb could exhaust the server's memory).
"""

from __future__ import annotations

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


# How deep a rule file may nest (the shipped agreements: 13 levels). Everything
# that reads a file — the schema check, the compiler, lint, explain — recurses
# over it, so a file nested hundreds deep once stopped reloads for good.
MAX_DEPTH = 48


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
        if "nesting depth" in message:  # libyaml's own limit (a thousand levels): the same problem as ours
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


def _too_deep(file: str, line: int, column: int) -> Diagnostic:
    return Diagnostic("too_deep", f"nested deeper than the {MAX_DEPTH} levels a rule file may be", file, line, column,
                      help="flatten the condition (`all:` and `any:` take lists)")


def _build(node, path: Path, source: Source, loader, problems: list[Diagnostic], anchors: set) -> Any:
    if id(node) in anchors:
        # An alias: the node was built already. Point at the key that uses it.
        problems.append(source.diagnostic(path + ("<key>",), "yaml_alias", "yaml aliases are not allowed",
                                          help="write the value out in full instead of `*alias`"))
        return None
    source.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    anchors.add(id(node))
    if len(path) >= MAX_DEPTH and isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        problems.append(source.diagnostic(
            path, "too_deep", f"nested {len(path) + 1} levels deep, more than the {MAX_DEPTH} a rule file may be",
            help="the shipped agreements nest 13 levels at most: flatten the condition (`all:` and `any:` take lists)"))
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
    value = _scalar(node, loader)
    if isinstance(value, str) and (hidden := _HIDDEN.search(value)):
        problems.append(source.diagnostic(
            path, "control_character", f"the text holds the invisible control character U+{ord(hidden[0]):04X}",
            help="rule files are read on terminals and in browsers, where such a character can rewrite what "
                 "is shown: remove it"))
    return value


# Control characters (but tab and line feed) and the bidirectional embeddings,
# overrides and isolates: written in a title, a rule message or a reason code,
# they reach terminals, web pages and the platform's users, where ESC [ …
# rewrites a line and U+202E reverses it ("deny" shown as "allow"). No rule
# needs one; the letter-direction marks U+200E, U+200F and U+061C stay allowed.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


_STR_TAG = "tag:yaml.org,2002:str"


def _scalar(node, loader) -> Any:
    # Most scalars of a rule file are strings, whose value is their text as
    # the parser read it; the constructor's dispatch cost more than the rest
    # of building them (a tenth of compiling 10,000 rules).
    if node.tag == _STR_TAG:
        return node.value
    return loader.construct_object(node)
