"""Reading rule files: YAML with positions, checked against the one JSON Schema.

Every file in the rules directory is one document: an agreement, the group
bindings, or a test suite, told apart by its first key. All problems of all
files are collected; nothing stops at the first one.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema_rs

from ..errors import Diagnostic, did_you_mean
from ..source import Source, decode, parse

SCHEMA_PATH = pathlib.Path(__file__).with_name("schema.json")
KINDS = ("agreement", "bindings", "suite")
_DEF_OF_KIND = {"agreement": "agreement", "bindings": "bindingsFile", "suite": "suite"}
MAX_FILE_BYTES = 1 << 20  # a rule file larger than this is a mistake, not a policy


@dataclass
class Document:
    kind: str  # one of KINDS
    source: Source
    # Paths where the schema found a problem. The compiler skips what lies
    # under them but still checks the rest, so one bad rule does not hide the
    # problems of its neighbours.
    broken: tuple[tuple, ...] = ()

    def is_broken(self, path: tuple) -> bool:
        """True when `path` or anything inside it failed the schema."""
        return any(b[: len(path)] == path for b in self.broken)

    def broken_outside(self, containers: list[tuple]) -> bool:
        """True when a schema problem lies outside all of `containers`."""
        return any(not any(b[: len(c)] == c for c in containers) for b in self.broken)

    @property
    def data(self) -> dict:
        return self.source.data


@functools.cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def _subschema(kind: str) -> dict:
    return {"$ref": f"#/$defs/{_DEF_OF_KIND[kind]}", "$defs": schema()["$defs"]}


@functools.cache
def _validator(kind: str) -> jsonschema.protocols.Validator:
    """The reference validator: slow, but its errors carry the paths diagnostics need."""
    return jsonschema.Draft202012Validator(_as_python_reads_it(_subschema(kind)))


def _as_python_reads_it(node: Any) -> Any:
    """The schema with each pattern's final `$` as `\\Z`.

    JSON Schema patterns are ECMA-262, where `$` is the end of the text;
    Python's `$` also matches before a final newline, so `"r\\n"` passed the
    reference validator as an id the compiled one refuses, and was loaded.
    """
    if isinstance(node, dict):
        return {key: (value[:-1] + "\\Z" if key == "pattern" and isinstance(value, str) and value.endswith("$")
                      and not value.endswith("\\$") else _as_python_reads_it(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_as_python_reads_it(value) for value in node]
    return node


@functools.cache
def _quick_check(kind: str):
    """A compiled validator for the common case, a valid file (20× faster on 10,000 rules).

    Only a file it rejects goes through the reference validator, which then
    explains why; both read the same schema.
    """
    return jsonschema_rs.Draft202012Validator(_subschema(kind)).is_valid


def load_documents(files: list[tuple[str, bytes]]) -> tuple[list[Document], list[Diagnostic]]:
    """Parse and schema-check (display name, content) pairs."""
    documents: list[Document] = []
    problems: list[Diagnostic] = []
    for name, content in files:
        document, found = load_document(name, content)
        problems += found
        if document is not None:
            documents.append(document)
    return documents, problems


def rule_file_text(name: str, content: bytes) -> tuple[str | None, list[Diagnostic]]:
    """The text of a rule file's bytes, or None with why it is none: larger than a rule file may be, or not UTF-8."""
    if len(content) > MAX_FILE_BYTES:
        return None, [Diagnostic("file_too_large", f"the file is {len(content)} bytes, more than {MAX_FILE_BYTES}",
                                 name, 1, 1, help="split it into one agreement per file")]
    return decode(content, name)


def load_document(name: str, content: bytes) -> tuple[Document | None, list[Diagnostic]]:
    text, problems = rule_file_text(name, content)
    if text is None:
        return None, problems
    source, problems = parse(text, name)
    if problems:
        return None, problems
    data = source.data
    if not isinstance(data, dict):
        return None, [source.diagnostic((), "not_a_mapping", "a rule file must be a mapping of fields",
                                        help="start with `agreement: <id>`, `bindings:` or `suite: <name>`")]
    kind = next((k for k in KINDS if k in data), None)
    if kind is None:
        return None, [source.diagnostic((), "unknown_document", "the file is neither an agreement, bindings nor a suite",
                                        help="start with `agreement: <id>`, `bindings:` or `suite: <name>`")]
    if source.hidden and kind != "suite":  # a suite's fixtures may hold any text a request may
        return None, [source.diagnostic(
            path, "control_character", "the text holds a control or invisible character",
            help="rule files are read on terminals and in browsers, where such a character can rewrite what "
                 "is shown: remove it") for path in source.hidden]
    valid = _quick_check(kind)(data)
    errors = [] if valid else list(_validator(kind).iter_errors(data))
    problems = [_with_rule(source, error.absolute_path, _diagnose(source, error)) for error in errors]
    if not valid and not errors:
        # The two validators disagree: the stricter answer holds, never a file loaded half-checked.
        return None, [source.diagnostic((), "schema", "the file does not match the rule files' schema",
                                        help="check each value against the schema (editors with the "
                                             "`yaml-language-server` line show where)")]
    broken = tuple(tuple(error.absolute_path) for error in errors)
    return Document(kind, source, broken), _dedupe(problems)


def _with_rule(source: Source, path, diagnostic: Diagnostic) -> Diagnostic:
    """Name the rule a schema problem lies in, as the compiler's own diagnostics do."""
    path = tuple(path)
    if len(path) >= 4 and path[0] == "versions" and path[2] == "rules":
        try:
            rule_id = source.data["versions"][path[1]]["rules"][path[3]].get("id", "")
        except (KeyError, IndexError, TypeError, AttributeError):
            rule_id = ""
        if isinstance(rule_id, str) and rule_id:
            return dataclasses.replace(diagnostic, rule=rule_id)
    return diagnostic


def _dedupe(problems: list[Diagnostic]) -> list[Diagnostic]:
    seen, unique = set(), []
    for p in problems:
        key = (p.line, p.column, p.code, p.message)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _closest_branch(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """Of the alternatives that failed, the one whose shape fits the value and failed deepest.

    `destinations: [ai_tol]` fails both "a list of kinds" and "{except: …}";
    the useful report is the unknown kind inside the list, not "must be object".
    """
    fitting = [e for e in error.context if e.validator != "type" or e.relative_path]
    return max(fitting or error.context, key=lambda e: (len(e.relative_path), e.validator != "type"))


def _field(path) -> str:
    names = [str(p) if not isinstance(p, int) else f"[{p}]" for p in path]
    return ".".join(names).replace(".[", "[") or "the file"


def _diagnose(source: Source, error: jsonschema.ValidationError) -> Diagnostic:
    """One schema error as a diagnostic that names the field and suggests the fix."""
    if error.validator == "oneOf" and all(list(branch) == ["required"] for branch in error.validator_value):
        # Alternative fields (a case's `request` or `wire`): name them all, whichever way the choice failed.
        path, names = tuple(error.absolute_path), [n for branch in error.validator_value for n in branch["required"]]
        given = [name for name in names if name in error.instance]
        choice = " or ".join(f"`{name}`" for name in names)
        if given:
            return source.diagnostic(path + (given[-1], "<key>"), "conflicting_fields",
                                     f"{_field(path)} has {' and '.join(f'`{n}`' for n in given)}: it takes one",
                                     help=f"keep {choice}, not both")
        return source.diagnostic(path, "missing_field", f"missing field {choice} in {_field(path)}",
                                 help=f"add {' or '.join(f'`{name}:`' for name in names)}")
    while error.validator in ("oneOf", "anyOf") and error.context:
        error = _closest_branch(error)
    path = tuple(error.absolute_path)
    where = _field(path)
    validator, value = error.validator, error.validator_value
    if validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        for name in extra:
            if any(jsonschema.Draft202012Validator({"pattern": p}).is_valid(name)
                   for p in error.schema.get("patternProperties", {})):
                continue
            return source.diagnostic(path + (name, "<key>"), "unknown_field", f"unknown field `{name}` in {where}",
                                     help=did_you_mean(name, known))
        return source.diagnostic(path, "unknown_field", error.message)
    if validator == "required":
        missing = next((r for r in value if r not in error.instance), value[0])
        return source.diagnostic(path, "missing_field", f"missing field `{missing}` in {where}",
                                 help=f"add `{missing}:`")
    if validator == "enum":
        choices = [str(v) for v in value]
        return source.diagnostic(path, "unknown_value", f"`{error.instance}` is not a valid value for {where}",
                                 help=did_you_mean(str(error.instance), choices))
    if validator == "type":
        kinds = value if isinstance(value, list) else [value]
        return source.diagnostic(path, "wrong_type", f"{where} must be {' or '.join(kinds)}, not `{error.instance!r}`")
    if validator == "pattern":
        hint = error.schema.get("description", f"match `{value}`")
        named = next((step for step in reversed(path) if isinstance(step, str)), "value")  # not a list's index
        return source.diagnostic(path, "bad_format", f"`{error.instance}` is not a valid {named}",
                                 help=f"use {hint}")
    if validator in ("minItems", "minProperties", "minLength"):
        return source.diagnostic(path, "empty", f"{where} must not be empty")
    return source.diagnostic(path, "schema", f"{where}: {error.message}")
