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


# How deep a rule file may nest (the shipped agreements: 13 levels). Everything
# that reads a file — the schema check, the compiler, lint, explain — recurses
# over it, so a file nested hundreds deep once stopped reloads for good.
MAX_DEPTH = 48


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
        if "nesting depth" in message:  # libyaml's own limit (a thousand levels): the same problem as ours
            if any(p.code == "too_deep" for p in problems):
                return source, problems  # reached while reading past what was reported at 48 levels
            problems.append(Diagnostic("too_deep", f"nested deeper than the {MAX_DEPTH} levels a rule file may be",
                                       file, line, column, help=_FLATTEN))
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


_FLATTEN = "flatten the condition (`all:` and `any:` take lists)"
_EMPTY = object()
_STR_TAG = "tag:yaml.org,2002:str"
_SKIP = object()  # a value not kept: after a refused key, or a collection too deep


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
        while True:
            event = next_event()
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
                    self.problems.append(self.source.diagnostic(
                        child, "too_deep",
                        f"nested {len(child) + 1} levels deep, more than the {MAX_DEPTH} a rule file may be",
                        help=f"the shipped agreements nest 13 levels at most: {_FLATTEN}"))
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
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
        return self.loader.construct_object(node)

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
# rewrites a line and U+202E reverses it ("deny" shown as "allow"). No rule
# needs one; the letter-direction marks U+200E, U+200F and U+061C stay allowed.
# Recorded here (`Source.hidden`); the loader refuses them in agreements and
# bindings, while request files may carry any text a request may.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
