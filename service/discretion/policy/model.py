"""The authored model: rule files as frozen, typed objects, condition trees included.

`read_policy` turns the schema-checked documents into agreements and bindings;
the compiler, the lint checks and the author tools read these objects, never
the files' raw data. Values stay as written (a time is still its text, a
literal still the YAML scalar): checking them against the fact catalogue is
the compiler's work. Every object keeps `path`, its place in the file, and its
document's `source` maps a path to a line and column: positions live in that
side table, not in the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ..pace import pace
from ..source import Source
from .load import Document

# ---- conditions -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """A mapping whose entries must all hold."""

    entries: tuple["Entry", ...]
    path: tuple


@dataclass(frozen=True, slots=True)
class Entry:
    path: tuple  # the entry's value; its key is `path + ("<key>",)`'s position
    text: str  # `key: value` in flow style, as explanations name it


@dataclass(frozen=True, slots=True)
class AllOf(Entry):
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf(Entry):
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not(Entry):
    condition: Condition


@dataclass(frozen=True, slots=True)
class Quantified(Entry):
    quantifier: str  # "some", "every", "none"
    of: str  # a fact path, checked by the compiler
    name: str  # the element's name in `where`
    where: Condition


@dataclass(frozen=True, slots=True)
class AuthorConsent(Entry):
    """`author_consented: <scope>` or `author_withdrew: <scope>`."""

    withdrew: bool
    scope: Any  # checked by the compiler against the consent scopes


@dataclass(frozen=True, slots=True)
class Consented(Entry):
    by: str
    scope: Any


@dataclass(frozen=True, slots=True)
class ActorIsAuthor(Entry):
    value: Any


@dataclass(frozen=True, slots=True)
class FactRef:
    """`{fact: path}`: an operand read from the request."""

    fact: str
    path: tuple


@dataclass(frozen=True, slots=True)
class Test:
    op: str  # eq, ne, in, not_in, contains, lt, le, gt, ge, exists, matches
    operand: Any  # a literal as written, or a FactRef
    path: tuple


@dataclass(frozen=True, slots=True)
class FactTest(Entry):
    """`fact: value` (eq), `fact: [values]` (in), or `fact: {op: operand, …}`."""

    fact: str
    tests: tuple[Test, ...]


LOGIC = ("all", "any", "not", "some", "every", "none")
KEYWORDS = (*LOGIC, "author_consented", "author_withdrew", "consented", "actor_is_author")


def read_condition(data: dict, path: tuple) -> Condition:
    return Condition(tuple(_entry(key, value, path + (key,)) for key, value in data.items()), path)


def _entry(key: str, value: Any, path: tuple) -> Entry:
    text = describe(key, value)
    if key in ("all", "any"):
        conditions = tuple(read_condition(c, path + (i,)) for i, c in enumerate(value))
        return (AllOf if key == "all" else AnyOf)(path, text, conditions)
    if key == "not":
        return Not(path, text, read_condition(value, path))
    if key in ("some", "every", "none"):
        return Quantified(path, text, key, value["of"], value.get("as", "it"),
                          read_condition(value["where"], path + ("where",)))
    if key in ("author_consented", "author_withdrew"):
        return AuthorConsent(path, text, key == "author_withdrew", value)
    if key == "consented":
        return Consented(path, text, value["by"], value["scope"])
    if key == "actor_is_author":
        return ActorIsAuthor(path, text, value)
    return FactTest(path, text, key, _tests(value, path))


def _tests(value: Any, path: tuple) -> tuple[Test, ...]:
    if not isinstance(value, dict):
        # `fact: [a, b]` is one of; `fact: a` is equal to.
        return (Test("in" if isinstance(value, list) else "eq", _operand(value, path), path),)
    tests = []
    for op, operand in value.items():
        where = path + (op,)
        if op == "fact":  # `fact: {fact: other}`: equal to another fact
            tests.append(Test("eq", FactRef(operand, where + ("fact",)), where))
        else:
            tests.append(Test(op, _operand(operand, where), where))
    return tuple(tests)


def _operand(value: Any, path: tuple) -> Any:
    if isinstance(value, dict) and "fact" in value:
        return FactRef(value["fact"], path + ("fact",))
    return value


def walk(condition: Condition) -> Iterator[Entry]:
    """Every entry of a condition, nested ones too, outermost first."""
    for entry in condition.entries:
        yield entry
        for inner in _inner(entry):
            yield from walk(inner)


def _inner(entry: Entry) -> tuple[Condition, ...]:
    if isinstance(entry, (AllOf, AnyOf)):
        return entry.conditions
    if isinstance(entry, Not):
        return (entry.condition,)
    if isinstance(entry, Quantified):
        return (entry.where,)
    return ()


def without_paths(value: Any) -> Any:
    """A model object as plain data without its places in the file: equal when two say the same wherever they stand."""
    if hasattr(value, "__dataclass_fields__"):
        return (type(value).__name__, *((name, without_paths(getattr(value, name)))
                                        for name in value.__dataclass_fields__ if name != "path"))
    if isinstance(value, tuple):
        return tuple(without_paths(v) for v in value)
    return value


def describe(key: str, value: Any) -> str:
    """`key: value` in compact YAML flow style, for explanations."""
    return f"{key}: {flow(value)}"


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if value is True or value is False:
        return str(value).lower()
    return "null" if value is None else str(value)


# ---- rules, versions, agreements ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Obligation:
    type: str
    # What follows the type, as written: a scalar (null too), `{fact: …}`,
    # or a mapping of parameters. Nothing when `given` is false (`- type`).
    parameters: Any
    given: bool
    path: tuple


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    effect: str  # allow, allow_with_obligations, require, deny, deny_unless_allowed
    actions: tuple[str, ...] | None  # None: every action
    destinations: tuple[str, ...] | None  # None: every kind
    destinations_except: tuple[str, ...]  # `destinations: {except: [...]}`
    author_may_waive: bool
    when: Condition | None
    obligations: tuple[Obligation, ...]
    reason_code: str
    message: str  # a template: `{fact.path}` is filled in
    description: str  # for people; a label scheme it names is read as one the rule reads
    path: tuple


@dataclass(frozen=True, slots=True)
class LabelScheme:
    name: str
    order: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]
    relabel_by: tuple[str, ...]
    path: tuple


@dataclass(frozen=True, slots=True)
class Version:
    number: int
    effective_from: Any  # as written; None when left out
    disclosed_at: Any
    published_at: Any
    default_labels: tuple[tuple[str, Any], ...]
    label_floors: tuple[tuple[str, Any], ...]
    authors_may_restrict_later: bool
    rules: tuple[Rule, ...]  # those the schema accepted, in file order
    rule_count: int  # every rule the file holds, accepted or not
    index: int  # its place in `versions`
    path: tuple


@dataclass(frozen=True, slots=True)
class Agreement:
    id: str
    title: str
    summary: str
    source_url: str
    platform_wide: bool
    labels: tuple[LabelScheme, ...]
    # Consent scopes it adds: (name, what it permits), at ("consent_scopes", name).
    consent_scopes: tuple[tuple[str, str], ...]
    versions: tuple[Version, ...]
    source: Source  # the file, and the positions of every path in it


@dataclass(frozen=True, slots=True)
class Adoption:
    agreement: str
    version: int  # 0: the latest
    effective_from: Any
    disclosed_at: Any
    replaces: tuple[str, ...]
    segments: tuple[str, ...]
    default_labels: tuple[tuple[str, Any], ...]
    label_floors: tuple[tuple[str, Any], ...]
    path: tuple


@dataclass(frozen=True, slots=True)
class Binding:
    group: str
    adoptions: tuple[Adoption, ...]
    path: tuple


@dataclass(frozen=True, slots=True)
class Bindings:
    bindings: tuple[Binding, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class Policy:
    """Every agreement and bindings file the schema accepted, in the order given."""

    agreements: tuple[Agreement, ...]
    bindings: tuple[Bindings, ...]


def read_policy(documents: list[Document]) -> Policy:
    """The model of the documents. An agreement broken outside its rules, or a bindings file with
    any problem, is left out (its problems are reported); a broken rule is left out of its version."""
    agreements = tuple(read_agreement(d) for d in documents
                       if d.kind == "agreement" and not d.broken_outside(rule_paths(d.data)))
    bindings = tuple(read_bindings(d) for d in documents if d.kind == "bindings" and not d.broken)
    return Policy(agreements, bindings)


def rule_paths(data: dict) -> list[tuple]:
    # Read before the schema's problems are known to be only inside rules: any
    # shape may stand where a list should (`versions: 3`, `rules: true`).
    versions = data.get("versions")
    return [("versions", i, "rules", j) for i, v in enumerate(versions if isinstance(versions, list) else [])
            if isinstance(v, dict) and isinstance(v.get("rules"), list) for j in range(len(v["rules"]))]


def read_agreement(document: Document) -> Agreement:
    data = document.data
    labels = tuple(
        LabelScheme(name, tuple(spec["order"]), tuple((spec.get("aliases") or {}).items()),
                    tuple(spec.get("relabel_by") or ()), ("labels", name))
        for name, spec in (data.get("labels") or {}).items())
    versions = tuple(_version(document, i, v) for i, v in enumerate(data["versions"]))
    scopes = tuple((data.get("consent_scopes") or {}).items())
    return Agreement(data["agreement"], data["title"], data["summary"], data.get("source", ""),
                     bool(data.get("platform_wide")), labels, scopes, versions, document.source)


def _version(document: Document, index: int, data: dict) -> Version:
    path = ("versions", index)
    rules = []
    for j, rule in enumerate(data["rules"]):
        where = path + ("rules", j)
        if not document.is_broken(where):
            rules.append(read_rule(rule, where))
    return Version(data["version"], data.get("effective_from"), data.get("disclosed_at"), data.get("published_at"),
                   tuple((data.get("default_labels") or {}).items()), tuple((data.get("label_floors") or {}).items()),
                   data.get("authors_may_restrict_later", True), tuple(rules), len(data["rules"]), index, path)


def read_rule(data: dict, path: tuple) -> Rule:
    """One schema-checked rule, `path` its place in the file."""
    pace()
    destinations = data.get("destinations")
    excepted = tuple(destinations["except"]) if isinstance(destinations, dict) else ()
    obligations = tuple(_obligation(spec, path + ("obligations", i)) for i, spec in enumerate(data.get("obligations") or ()))
    return Rule(
        id=data["id"], effect=data["effect"],
        actions=tuple(data["actions"]) if data.get("actions") else None,
        destinations=tuple(destinations) if isinstance(destinations, list) else None,
        destinations_except=excepted, author_may_waive=data.get("author_may_waive", True),
        when=read_condition(data["when"], path + ("when",)) if "when" in data else None,
        obligations=obligations, reason_code=data["reason"]["code"], message=data["reason"]["message"],
        description=data.get("description", ""), path=path,
    )


def _obligation(spec: Any, path: tuple) -> Obligation:
    if isinstance(spec, str):
        return Obligation(spec, None, False, path)
    (name, parameters), = spec.items()
    return Obligation(name, parameters, True, path)


def read_bindings(document: Document) -> Bindings:
    bindings = []
    for index, binding in enumerate(document.data["bindings"]):
        path = ("bindings", index)
        adoptions = tuple(_adoption(a, path + ("adoptions", j)) for j, a in enumerate(binding["adoptions"]))
        bindings.append(Binding(binding["group"], adoptions, path))
    return Bindings(tuple(bindings), document.source)


def _adoption(data: dict, path: tuple) -> Adoption:
    return Adoption(data["agreement"], data.get("version", 0), data.get("effective_from"), data.get("disclosed_at"),
                    tuple(data.get("replaces") or ()), tuple(data.get("segments") or ()),
                    tuple((data.get("default_labels") or {}).items()), tuple((data.get("label_floors") or {}).items()),
                    path)
