"""The compiler: named passes over the checked documents, each collecting diagnostics.

    read files → parse + schema (policy.load) → agreements → label schemes →
    rules (conditions, obligations, messages) → index → bindings

Nothing is compiled if anything is wrong: a policy is served whole or not at all.
"""

from __future__ import annotations

import re
import string
from collections import defaultdict
from typing import Any, Callable, Iterator

from ..engine.compiled import (
    AgreementInfo, CompiledObligation, CompiledPolicy, CompiledRule, CompiledVersion, LabelScheme, VersionInfo,
    consent_scopes_read,
)
from ..engine.instants import parse_iso
from ..engine.model import ACTIONS, DESTINATION_KINDS, Adoption
from ..engine.obligations import OBLIGATION_TYPES
from ..engine.terms import adoption_problems
from ..errors import Diagnostic, PolicyError, did_you_mean
from ..policy.load import Document, load_documents
from ..source import Source
from ..pace import pace
from .checks import check_policy
from .conditions import Context, Invalid, Patterns, compile_conjuncts, consent_scope, parse_instant
from .facts import UnknownFact, resolve


# Rules of one agreement version. Loading is linear in rules (about 0.2 ms
# each), so this bounds the time a reload can take and the memory a version
# can hold, far above what any real agreement needs.
MAX_RULES = 10_000


def compile_documents(files: list[tuple[str, bytes]], revision: str = "") -> CompiledPolicy:
    """Compile (display name, content) pairs; `revision` names their content."""
    # Warnings are not reported here, so the shadowed-rule check (quadratic in the
    # rules of a version, a warning only) is left to lint: a reload of 4,000 rules took 85 s.
    policy, _, problems = compile_with_diagnostics(files, revision, warnings=False)
    if any(p.severity == "error" for p in problems):
        raise PolicyError(problems)
    return policy


def compile_with_diagnostics(
    files: list[tuple[str, bytes]], revision: str = "", warnings: bool = True
) -> tuple[CompiledPolicy, list[Document], list[Diagnostic]]:
    """The policy of the rules that compiled, the documents, and every diagnostic (warnings too, unless told not)."""
    documents, problems = load_documents(files)
    compiler = _Compiler(problems)
    policy = compiler.run(documents, revision)
    return policy, documents, compiler.problems + check_policy(documents, policy, shadows=warnings)


class _Compiler:
    def __init__(self, problems: list[Diagnostic]):
        self.problems = problems
        self.patterns = Patterns()

    def run(self, documents: list[Document], revision: str) -> CompiledPolicy:
        # An agreement whose own fields failed the schema is not compiled at
        # all (its problems are reported); one with a broken rule is compiled
        # without that rule, so its other rules are still checked.
        agreements = [d for d in documents if d.kind == "agreement" and not d.broken_outside(_rule_paths(d.data))]
        schemes = self.label_schemes(agreements)
        infos: list[AgreementInfo] = []
        versions: dict[str, dict[int, CompiledVersion]] = {}
        platform_wide: list[str] = []
        seen: dict[str, Source] = {}
        for document in agreements:
            data, source = document.data, document.source
            agreement_id = data["agreement"]
            if agreement_id in seen:
                self.problems.append(source.diagnostic(("agreement",), "duplicate_agreement",
                                                       f"agreement `{agreement_id}` is defined twice",
                                                       help=f"the other one is in {seen[agreement_id].file}"))
                continue
            seen[agreement_id] = source
            compiled = self.agreement(document, schemes)
            versions[agreement_id] = compiled
            if data.get("platform_wide"):
                platform_wide.append(agreement_id)
            infos.append(AgreementInfo(
                id=agreement_id, version=max(compiled) if compiled else 0, title=data["title"].strip(),
                summary=" ".join(data["summary"].split()), source=data.get("source", ""),
                platform_wide=bool(data.get("platform_wide")),
                versions=tuple(VersionInfo(v.version, v.effective_from, v.disclosed_at) for v in compiled.values()),
            ))
        bindings = self.bindings([d for d in documents if d.kind == "bindings"], versions)
        return CompiledPolicy(revision, tuple(sorted(infos, key=lambda a: a.id)), versions,
                              tuple(sorted(platform_wide)), bindings, schemes, consent_scopes_read(versions))

    # ---- label schemes ------------------------------------------------------

    def label_schemes(self, agreements: list[Document]) -> dict[str, LabelScheme]:
        schemes: dict[str, LabelScheme] = {}
        for document in agreements:
            for name, spec in (document.data.get("labels") or {}).items():
                path = ("labels", name)
                if name in schemes:
                    self.problems.append(document.source.diagnostic(path + ("<key>",), "duplicate_label_scheme",
                                                                    f"label scheme `{name}` is defined twice",
                                                                    help="define each scheme in one agreement"))
                    continue
                order = tuple(v.lower() for v in spec["order"])
                aliases = {k.lower(): v.lower() for k, v in (spec.get("aliases") or {}).items()}
                for alias, target in aliases.items():
                    if target not in order:
                        self.problems.append(document.source.diagnostic(
                            path + ("aliases", alias), "unknown_label", f"alias `{alias}` names `{target}`, which is not in the order",
                            help=did_you_mean(target, list(order))))
                schemes[name] = LabelScheme(name, order, aliases, document.data["agreement"],
                                            frozenset(spec.get("relabel_by") or ()))
        return schemes

    # ---- agreements ---------------------------------------------------------

    def agreement(self, document: Document, schemes: dict[str, LabelScheme]) -> dict[int, CompiledVersion]:
        data, source = document.data, document.source
        agreement_id = data["agreement"]
        platform_wide = bool(data.get("platform_wide"))
        compiled: dict[int, CompiledVersion] = {}
        for index, version in enumerate(data["versions"]):
            path = ("versions", index)
            number = version["version"]
            if number in compiled:
                self.problems.append(source.diagnostic(path + ("version",), "duplicate_version",
                                                       f"version {number} of `{agreement_id}` is defined twice"))
                continue
            effective_from = disclosed_at = None
            for key in ("effective_from", "disclosed_at"):
                if key in version and not platform_wide:
                    self.problems.append(source.diagnostic(
                        path + (key, "<key>"), "dates_on_adopted_agreement",
                        f"`{key}` is set on an agreement that groups adopt",
                        help="a group's adoption says when its terms apply; only `platform_wide` agreements date their versions"))
            try:
                if "effective_from" in version:
                    effective_from = parse_instant(version["effective_from"], path + ("effective_from",))
                if "disclosed_at" in version:
                    disclosed_at = parse_instant(version["disclosed_at"], path + ("disclosed_at",))
            except Invalid as error:
                self.problems.append(source.diagnostic(error.path, error.code, error.message, help=error.help))
            published_at = self.published_at(version, index, path, source, platform_wide)
            defaults = self.label_values(version.get("default_labels") or {}, path + ("default_labels",), source, schemes)
            floors = self.label_values(version.get("label_floors") or {}, path + ("label_floors",), source, schemes)
            rules = self.rules(agreement_id, number, version["rules"], path + ("rules",), document)
            may_restrict_later = version.get("authors_may_restrict_later", True)
            compiled[number] = CompiledVersion(
                agreement=agreement_id, version=number, effective_from=effective_from,
                disclosed_at=disclosed_at if disclosed_at is not None else effective_from,
                index=_index(rules), label_schemes=schemes, default_labels=defaults,
                authors_may_restrict_later=may_restrict_later, label_floors=floors, published_at=published_at,
                frozen_schemes=frozenset() if may_restrict_later else frozenset(data.get("labels") or ()),
            )
        return dict(sorted(compiled.items()))

    def published_at(self, version: dict, index: int, path: tuple, source: Source, platform_wide: bool):
        """When a version of an adopted agreement was published; required after the first.

        An adoption of "the latest version" must not move items said under
        one version to a looser one loaded later: the date says from when the
        version may govern.
        """
        if "published_at" not in version:
            if index > 0 and not platform_wide:
                self.problems.append(source.diagnostic(
                    path + ("version",), "undated_version",
                    f"version {version['version']} does not say when it was published",
                    help="add `published_at`: an adoption of the latest version follows it only from then on"))
            return None
        if platform_wide:
            self.problems.append(source.diagnostic(
                path + ("published_at", "<key>"), "published_at_on_platform_agreement",
                "`published_at` is set on a platform-wide agreement",
                help="platform-wide agreements date their versions with `effective_from` and `disclosed_at`"))
            return None
        try:
            return parse_instant(version["published_at"], path + ("published_at",))
        except Invalid as error:
            self.problems.append(source.diagnostic(error.path, error.code, error.message, help=error.help))
            return None

    def label_values(self, values: dict, path: tuple, source: Source, schemes: dict) -> dict[str, str]:
        """Checked `scheme: value` pairs (default labels, label floors), canonical and lower case."""
        result = {}
        for scheme, value in values.items():
            where = path + (scheme,)
            if scheme not in schemes:
                self.problems.append(source.diagnostic(where + ("<key>",), "unknown_label_scheme",
                                                       f"unknown label scheme `{scheme}`",
                                                       help=did_you_mean(scheme, sorted(schemes))))
                continue
            canonical = schemes[scheme].aliases.get(value.lower(), value.lower())
            if canonical not in schemes[scheme].order:
                self.problems.append(source.diagnostic(where, "unknown_label", f"`{value}` is not a `{scheme}` label",
                                                       help=did_you_mean(value, list(schemes[scheme].order))))
                continue
            result[scheme] = canonical
        return result

    # ---- rules --------------------------------------------------------------

    def rules(self, agreement: str, version: int, rules: list[dict], path: tuple, document: Document) -> list[CompiledRule]:
        source = document.source
        if len(rules) > MAX_RULES:
            # Refused before any is compiled: the number is what is wrong.
            self.problems.append(source.diagnostic(
                path + (MAX_RULES,), "too_many_rules",
                f"version {version} has {len(rules)} rules, more than the {MAX_RULES} a version may have",
                help="the shipped agreements have at most a few dozen: "
                     "a condition with `any:` or `in:` says in one rule what many rules say one by one"))
            return []
        compiled, ids = [], set()
        for index, rule in enumerate(rules):
            where = path + (index,)
            if document.is_broken(where):
                continue  # reported by the schema pass
            rule_id = rule["id"]
            if rule_id in ids:
                self.problems.append(source.diagnostic(where + ("id",), "duplicate_rule",
                                                       f"rule id `{rule_id}` is used twice in this version", rule=rule_id))
                continue
            ids.add(rule_id)
            result = self.rule(agreement, version, rule, where, source)
            if result is not None:
                compiled.append(result)
        return compiled

    def rule(self, agreement: str, version: int, rule: dict, path: tuple, source: Source) -> CompiledRule | None:
        pace()
        rule_id, effect = rule["id"], rule["effect"]
        before = len(self.problems)
        obligations = rule.get("obligations") or []
        if effect in ("deny", "deny_unless_allowed") and obligations:
            self.problems.append(source.diagnostic(path + ("obligations", "<key>"), "obligations_on_deny",
                                                   "a deny cannot carry obligations", rule=rule_id,
                                                   help="remove `obligations`, or make the effect `allow_with_obligations`"))
        if effect == "allow" and obligations:
            self.problems.append(source.diagnostic(path + ("effect",), "obligations_on_allow",
                                                   "an `allow` with obligations must say so", rule=rule_id,
                                                   help="set `effect: allow_with_obligations`"))
        if effect in ("allow_with_obligations", "require") and not obligations:
            self.problems.append(source.diagnostic(path + ("effect",), "missing_obligations",
                                                   f"`{effect}` needs `obligations`", rule=rule_id,
                                                   help="list what must be done, or make the effect `allow`"))
        ctx = Context(source, rule_id, self.problems, patterns=self.patterns)
        conjuncts = tuple(compile_conjuncts(rule["when"], path + ("when",), ctx)) if "when" in rule else ()
        condition = _conjunction([p for _, p in conjuncts])
        compiled_obligations = tuple(
            o for i, spec in enumerate(obligations)
            if (o := self.obligation(spec, path + ("obligations", i), ctx)) is not None
        )
        message = self.message(rule["reason"]["message"], path + ("reason", "message"), ctx)
        if len(self.problems) > before:
            return None
        return CompiledRule(
            agreement=agreement, version=version, id=rule_id, effect=effect,
            waivable_by_author=rule.get("author_may_waive", True), condition=condition, conjuncts=conjuncts,
            obligations=compiled_obligations, reason_code=rule["reason"]["code"], message=message,
            actions=tuple(rule.get("actions") or ACTIONS), destinations=_destinations(rule.get("destinations")),
            schemes=frozenset(_schemes_read(rule)),
            consent_scopes=frozenset(ctx.consent_scopes),
        )

    def obligation(self, spec: Any, path: tuple, ctx: Context) -> CompiledObligation | None:
        if isinstance(spec, str):
            name, raw = spec, {}
        else:
            (name, raw), = spec.items()
        kind = OBLIGATION_TYPES[name]
        declared = dict(kind.params)
        # A scalar or a `{fact: …}` sets the main parameter: `add_notice: chatham_house_rule`.
        if not isinstance(raw, dict) or set(raw) == {"fact"}:
            if not kind.params:
                ctx.report(Invalid(path, "unexpected_parameter", f"`{name}` takes no parameter", f"write `- {name}`"))
                return None
            raw = {kind.params[0][0]: raw}
        raw = {**dict(kind.defaults), **raw}
        ctx.consent_scopes.update(kind.consent_scopes)
        params: dict[str, Callable] = {}
        for key, value in raw.items():
            where = path + (name, key)
            if key not in declared:
                ctx.report(Invalid(where + ("<key>",), "unknown_parameter", f"`{name}` has no parameter `{key}`",
                                   did_you_mean(key, list(declared)) if declared else f"`{name}` takes no parameters"))
                continue
            allowed = dict(kind.choices).get(key)
            if allowed is not None and value not in allowed:
                ctx.report(Invalid(where, "unknown_value", f"`{value}` is not a value of `{key}`",
                                   did_you_mean(str(value), list(allowed))))
                continue
            try:
                params[key] = _parameter(value, declared[key], where, ctx)
            except Invalid as error:
                ctx.report(error)
        for key in kind.required:
            if key not in raw:
                ctx.report(Invalid(path, "missing_parameter", f"`{name}` needs `{key}`", f"write `{name}: {{{key}: …}}`"))
        return CompiledObligation(name, kind.build, params)

    def message(self, template: str, path: tuple, ctx: Context) -> Callable:
        pieces: list[Any] = []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            ctx.report(Invalid(path, "bad_message", f"the message cannot be filled in: {error}",
                               "write `{{` and `}}` for literal braces"))
            return lambda scope: template
        for literal, field, _spec, _conv in parsed:
            if literal:
                pieces.append(literal)
            if field is None:
                continue
            try:
                getter, _ = resolve(field, {})
            except UnknownFact as error:
                ctx.report(Invalid(path, "unknown_fact", f"{error} in the message", error.help))
                continue
            pieces.append(getter)
        if all(isinstance(p, str) for p in pieces):
            text = "".join(pieces)
            return lambda scope: text
        return lambda scope: "".join(p if isinstance(p, str) else str(p(scope)) for p in pieces)

    # ---- bindings -----------------------------------------------------------

    def bindings(self, documents: list[Document], versions: dict) -> dict[str, tuple[Adoption, ...]]:
        result: dict[str, tuple[Adoption, ...]] = {}
        for document in documents:
            source = document.source
            if document.broken:
                continue  # reported by the schema pass
            for index, binding in enumerate(document.data["bindings"]):
                path = ("bindings", index)
                group = binding["group"]
                if group in result:
                    self.problems.append(source.diagnostic(path + ("group",), "duplicate_binding",
                                                           f"group `{group}` is bound twice"))
                    continue
                adoptions = []
                for j, adoption in enumerate(binding["adoptions"]):
                    parsed = self.adoption(adoption, path + ("adoptions", j), source, versions)
                    if parsed:
                        adoptions.append(parsed)
                for problem in adoption_problems(adoptions):
                    self.problems.append(source.diagnostic(
                        path + ("adoptions", problem.index, "replaces"), problem.code, problem.message))
                result[group] = tuple(adoptions)
        return result

    def adoption(self, data: dict, path: tuple, source: Source, versions: dict) -> Adoption | None:
        agreement = data["agreement"]
        if agreement not in versions:
            self.problems.append(source.diagnostic(path + ("agreement",), "unknown_agreement",
                                                   f"unknown agreement `{agreement}`",
                                                   help=did_you_mean(agreement, sorted(versions))))
            return None
        version = data.get("version", 0)
        if version and version not in versions[agreement]:
            self.problems.append(source.diagnostic(path + ("version",), "unknown_version",
                                                   f"`{agreement}` has no version {version}",
                                                   help="versions: " + ", ".join(map(str, versions[agreement]))))
            return None
        try:
            effective = parse_instant(data["effective_from"], path + ("effective_from",)) if "effective_from" in data else None
            disclosed = parse_instant(data["disclosed_at"], path + ("disclosed_at",)) if "disclosed_at" in data else None
        except Invalid as error:
            self.problems.append(source.diagnostic(error.path, error.code, error.message, help=error.help))
            return None
        for j, replaced in enumerate(data.get("replaces") or []):
            if replaced not in versions:
                self.problems.append(source.diagnostic(path + ("replaces", j), "unknown_agreement",
                                                       f"unknown agreement `{replaced}`",
                                                       help=did_you_mean(replaced, sorted(versions))))
        return Adoption(agreement, version, effective, disclosed, tuple(data.get("replaces") or ()),
                        tuple(data.get("segments") or ()), dict(data.get("default_labels") or {}),
                        dict(data.get("label_floors") or {}))


_LABEL_FACT = re.compile(r"item\.label(?:_param)?\.([A-Za-z0-9_+-]+)")


def _schemes_read(node: Any) -> Iterator[str]:
    """The label schemes a rule names anywhere: in a condition's keys, operands or its message."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _schemes_read(key)
            yield from _schemes_read(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemes_read(value)
    elif isinstance(node, str):
        yield from (match.group(1).lower() for match in _LABEL_FACT.finditer(node))


def _destinations(spec: list | dict | None) -> tuple[str, ...]:
    if spec is None:
        return DESTINATION_KINDS
    if isinstance(spec, dict):
        return tuple(k for k in DESTINATION_KINDS if k not in spec["except"])
    return tuple(spec)


def _rule_paths(data: dict) -> list[tuple]:
    # Read before the schema's problems are known to be only inside rules: any
    # shape may stand where a list should (`versions: 3`, `rules: true`).
    versions = data.get("versions")
    return [("versions", i, "rules", j) for i, v in enumerate(versions if isinstance(versions, list) else [])
            if isinstance(v, dict) and isinstance(v.get("rules"), list) for j in range(len(v["rules"]))]


def _always(scope) -> bool:
    return True


def _conjunction(parts: list[Callable]) -> Callable:
    if not parts:
        return _always
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda scope: first(scope) and second(scope)
    return lambda scope: all(p(scope) for p in parts)


def _parameter(value: Any, kind: str, path: tuple, ctx: Context) -> Callable:
    if kind == "consent_scope":
        # Named, never read from a fact: the compiler must know every scope a rule reads.
        scope = consent_scope(value, path, ctx)
        return lambda _: scope
    if isinstance(value, dict) and set(value) == {"fact"}:
        try:
            getter, fact_type = resolve(value["fact"], {})
        except UnknownFact as error:
            raise Invalid(path + ("fact",), "unknown_fact", str(error), error.help) from None
        if kind == "instant" and fact_type.kind not in ("instant", "text", "any"):
            raise Invalid(path, "wrong_type", f"`{value['fact']}` is {fact_type.describe()}, not a time")
        if kind == "instant" and fact_type.kind != "instant":
            return _instant_from_text(getter)
        return getter
    if kind == "instant":
        instant = parse_instant(value, path)
        return lambda scope: instant
    if not isinstance(value, str):
        raise Invalid(path, "wrong_type", f"`{value}` must be text")
    return lambda scope: value


def _instant_from_text(getter: Callable) -> Callable:
    # Label parameters arrive as text (`until: 2026-03-01T00:00:00Z`). Parsing
    # here is the one place the request path reads a time from text; a bad
    # value raises and the rule fails closed.
    def read(scope):
        text = getter(scope)
        if not text:
            return None
        return parse_iso(str(text))

    return read


def _index(rules: list[CompiledRule]) -> dict[tuple[str, str], tuple[CompiledRule, ...]]:
    index: dict[tuple[str, str], list[CompiledRule]] = defaultdict(list)
    for rule in rules:
        for action in rule.actions:
            for destination in rule.destinations:
                index[(action, destination)].append(rule)
    # "Otherwise deny" rules are looked at after every other rule of the
    # version, once it is known whether the version allowed the item.
    return {key: tuple(sorted(value, key=lambda r: r.effect == "deny_unless_allowed")) for key, value in index.items()}
