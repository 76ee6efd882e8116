"""The compiler: named passes over the authored model, each collecting diagnostics.

    read files → parse + schema (policy.load) → model (policy.model) →
    agreements → label schemes → rules (conditions, obligations, messages) →
    bindings → the compiled form (discretion.ir) → the evaluator (engine.build)

Nothing is served if anything is wrong: a policy is served whole or not at all.
The author tools still get the compiled form of the rules that compiled, with
every diagnostic, so one bad rule does not hide the problems of the others.
"""

from __future__ import annotations

import re
import string
from typing import Any, Iterator, TYPE_CHECKING

from .. import ir
from ..engine import community
from ..engine.build import build_policy
from ..engine.compiled import CompiledPolicy
from ..engine.facts import UnknownFact, resolve
from ..engine.model import ACTIONS, CONSENT_SCOPES, DESTINATION_KINDS, Adoption
from ..engine.obligations import OBLIGATION_TYPES
from ..engine.terms import adoption_problems
from ..errors import Diagnostic, PolicyError, did_you_mean
from ..policy import model
from ..policy.load import Document, load_documents
from ..pace import pace
from .checks import check_policy
from .conditions import Context, Invalid, Patterns, consent_scope, lower_condition, parse_instant

if TYPE_CHECKING:  # the side table of positions; only policy/ reads rule files
    from ..source import Source


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
    compiled, documents, problems = lower_documents(files, revision, warnings)
    return build_policy(compiled), documents, problems


def lower_documents(
    files: list[tuple[str, bytes]], revision: str = "", warnings: bool = True
) -> tuple[ir.Policy, list[Document], list[Diagnostic]]:
    """The compiled form of the rules that compiled, the documents, and every diagnostic."""
    documents, problems = load_documents(files)
    authored = model.read_policy(documents)
    compiler = _Compiler(problems)
    compiled = compiler.run(authored, revision)
    return compiled, documents, compiler.problems + check_policy(authored, compiled, shadows=warnings)


class _Compiler:
    def __init__(self, problems: list[Diagnostic]):
        self.problems = problems
        self.patterns = Patterns()

    def diagnose(self, source: Source, path: tuple, code: str, message: str, **more) -> None:
        self.problems.append(source.diagnostic(path, code, message, **more))

    def run(self, authored: model.Policy, revision: str) -> ir.Policy:
        # An agreement whose own fields failed the schema is not in the model
        # (its problems are reported); one with a broken rule is compiled
        # without that rule, so its other rules are still checked.
        schemes = self.label_schemes(authored.agreements)
        scopes = self.consent_scopes(authored.agreements)
        self.scopes = (*CONSENT_SCOPES, *sorted(scope.name for scope in scopes))
        agreements: dict[str, ir.Agreement] = {}
        seen: dict[str, Source] = {}
        for agreement in authored.agreements:
            if agreement.id in seen:
                self.diagnose(agreement.source, ("agreement",), "duplicate_agreement",
                            f"agreement `{agreement.id}` is defined twice", help=f"the other one is in {seen[agreement.id].file}")
                continue
            seen[agreement.id] = agreement.source
            agreements[agreement.id] = self.agreement(agreement, schemes)
        bindings = self.bindings(authored.bindings, agreements)
        return ir.Policy(ir_version=ir.IR_VERSION, revision=revision,
                         agreements=[agreements[a] for a in sorted(agreements)],
                         label_schemes=[schemes[name] for name in sorted(schemes)], bindings=bindings,
                         consent_scopes=sorted(scopes, key=lambda scope: scope.name))

    # ---- consent scopes -----------------------------------------------------

    def consent_scopes(self, agreements: tuple[model.Agreement, ...]) -> list[ir.ConsentScope]:
        """The scopes agreements add: the vocabulary is open, each name still means one thing."""
        added: dict[str, ir.ConsentScope] = {}
        for agreement in agreements:
            for name, meaning in agreement.consent_scopes:
                if name in CONSENT_SCOPES or name in added:
                    other = "is built in" if name in CONSENT_SCOPES else f"is added by `{added[name].agreement}`"
                    self.diagnose(agreement.source, ("consent_scopes", name, "<key>"), "duplicate_consent_scope",
                                  f"consent scope `{name}` {other}",
                                  help="read the scope that exists, or give this one a name of its own")
                    continue
                added[name] = ir.ConsentScope(name=name, meaning=" ".join(meaning.split()), agreement=agreement.id)
        return list(added.values())

    # ---- label schemes ------------------------------------------------------

    def label_schemes(self, agreements: tuple[model.Agreement, ...]) -> dict[str, ir.LabelScheme]:
        schemes: dict[str, ir.LabelScheme] = {}
        for agreement in agreements:
            for spec in agreement.labels:
                if spec.name.lower() in community.FORMS:
                    self.diagnose(agreement.source, spec.path + ("<key>",), "reserved_label_scheme",
                                  f"`{spec.name}` is the scheme of the labels a sharing community writes in its own form "
                                  "(MISP tags, STIX markings): the engines read them as `tlp`, `pap` and `attribution`, "
                                  "so a scheme of that name would never be read",
                                  help="name the scheme after what it labels")
                    continue
                if spec.name in schemes:
                    self.diagnose(agreement.source, spec.path + ("<key>",), "duplicate_label_scheme",
                                f"label scheme `{spec.name}` is defined twice", help="define each scheme in one agreement")
                    continue
                order = [v.lower() for v in spec.order]
                aliases = {k.lower(): v.lower() for k, v in spec.aliases}
                for alias, target in list(aliases.items()):
                    if target not in order:
                        self.diagnose(agreement.source, spec.path + ("aliases", alias), "unknown_label",
                                    f"alias `{alias}` names `{target}`, which is not in the order",
                                    help=did_you_mean(target, order))
                        del aliases[alias]  # reported; the compiled form holds only what an evaluator can read
                schemes[spec.name] = ir.LabelScheme(name=spec.name, order=order, aliases=aliases,
                                                    agreement=agreement.id, relabel_by=sorted(set(spec.relabel_by)))
        return schemes

    # ---- agreements ---------------------------------------------------------

    def agreement(self, agreement: model.Agreement, schemes: dict[str, ir.LabelScheme]) -> ir.Agreement:
        source = agreement.source
        compiled: dict[int, ir.Version] = {}
        for version in agreement.versions:
            path = version.path
            if version.number in compiled:
                self.diagnose(source, path + ("version",), "duplicate_version",
                            f"version {version.number} of `{agreement.id}` is defined twice")
                continue
            effective_from = disclosed_at = None
            for key in ("effective_from", "disclosed_at"):
                if getattr(version, key) is not None and not agreement.platform_wide:
                    self.diagnose(source, path + (key, "<key>"), "dates_on_adopted_agreement",
                                f"`{key}` is set on an agreement that groups adopt",
                                help="a group's adoption says when its terms apply; only `platform_wide` agreements "
                                     "date their versions")
            try:
                if version.effective_from is not None:
                    effective_from = parse_instant(version.effective_from, path + ("effective_from",))
                if version.disclosed_at is not None:
                    disclosed_at = parse_instant(version.disclosed_at, path + ("disclosed_at",))
            except Invalid as error:
                self.diagnose(source, error.path, error.code, error.message, help=error.help)
            published_at = self.published_at(version, source, agreement.platform_wide)
            defaults = self.label_values(version.default_labels, path + ("default_labels",), source, schemes)
            floors = self.label_values(version.label_floors, path + ("label_floors",), source, schemes)
            rules = self.rules(version, source)
            may_restrict_later = version.authors_may_restrict_later
            disclosed_at = disclosed_at if disclosed_at is not None else effective_from
            compiled[version.number] = ir.Version(
                number=version.number, effective_from=_instant(effective_from),
                disclosed_at=_instant(disclosed_at), published_at=_instant(published_at),
                default_labels=defaults, label_floors=floors,
                authors_may_restrict_later=may_restrict_later,
                frozen_schemes=[] if may_restrict_later else [s.name for s in agreement.labels], rules=rules)
        return ir.Agreement(id=agreement.id, title=agreement.title.strip(), summary=" ".join(agreement.summary.split()),
                            source=agreement.source_url, platform_wide=agreement.platform_wide,
                            versions=[compiled[n] for n in sorted(compiled)])

    def published_at(self, version: model.Version, source: Source, platform_wide: bool):
        """When a version of an adopted agreement was published; required after the first.

        An adoption of "the latest version" must not move items said under
        one version to a looser one loaded later: the date says from when the
        version may govern.
        """
        path = version.path
        if version.published_at is None:
            if version.index > 0 and not platform_wide:
                self.diagnose(source, path + ("version",), "undated_version",
                            f"version {version.number} does not say when it was published",
                            help="add `published_at`: an adoption of the latest version follows it only from then on")
            return None
        if platform_wide:
            self.diagnose(source, path + ("published_at", "<key>"), "published_at_on_platform_agreement",
                        "`published_at` is set on a platform-wide agreement",
                        help="platform-wide agreements date their versions with `effective_from` and `disclosed_at`")
            return None
        try:
            return parse_instant(version.published_at, path + ("published_at",))
        except Invalid as error:
            self.diagnose(source, error.path, error.code, error.message, help=error.help)
            return None

    def label_values(self, values: tuple[tuple[str, Any], ...], path: tuple, source: Source,
                     schemes: dict[str, ir.LabelScheme]) -> dict[str, str]:
        """Checked `scheme: value` pairs (default labels, label floors), canonical and lower case."""
        result = {}
        for scheme, value in values:
            where = path + (scheme,)
            if scheme not in schemes:
                self.diagnose(source, where + ("<key>",), "unknown_label_scheme", f"unknown label scheme `{scheme}`",
                            help=did_you_mean(scheme, sorted(schemes)))
                continue
            canonical = schemes[scheme].aliases.get(value.lower(), value.lower())
            if canonical not in schemes[scheme].order:
                self.diagnose(source, where, "unknown_label", f"`{value}` is not a `{scheme}` label",
                            help=did_you_mean(value, list(schemes[scheme].order)))
                continue
            result[scheme] = canonical
        return result

    # ---- rules --------------------------------------------------------------

    def rules(self, version: model.Version, source: Source) -> list[ir.Rule]:
        path = version.path + ("rules",)
        if version.rule_count > MAX_RULES:
            # Refused before any is compiled: the number is what is wrong.
            self.diagnose(source, path + (MAX_RULES,), "too_many_rules",
                        f"version {version.number} has {version.rule_count} rules, more than the {MAX_RULES} a "
                        "version may have",
                        help="the shipped agreements have at most a few dozen: "
                             "a condition with `any:` or `in:` says in one rule what many rules say one by one")
            return []
        compiled, ids = [], set()
        for rule in version.rules:
            if rule.id in ids:
                self.diagnose(source, rule.path + ("id",), "duplicate_rule",
                            f"rule id `{rule.id}` is used twice in this version", rule=rule.id)
                continue
            ids.add(rule.id)
            result = self.rule(rule, source)
            # A rule for no destination kind (`except:` every one) applies to nothing: indexed nowhere, it is
            # left out of the compiled form, whose rules each apply somewhere.
            if result is not None and result.destinations:
                compiled.append(result)
        return compiled

    def rule(self, rule: model.Rule, source: Source) -> ir.Rule | None:
        pace()
        path, effect = rule.path, rule.effect
        before = len(self.problems)
        obligations = rule.obligations
        if effect in ("deny", "deny_unless_allowed") and obligations:
            self.diagnose(source, path + ("obligations", "<key>"), "obligations_on_deny",
                        "a deny cannot carry obligations", rule=rule.id,
                        help="remove `obligations`, or make the effect `allow_with_obligations`")
        if effect == "allow" and obligations:
            self.diagnose(source, path + ("effect",), "obligations_on_allow", "an `allow` with obligations must say so",
                        rule=rule.id, help="set `effect: allow_with_obligations`")
        if effect in ("allow_with_obligations", "require") and not obligations:
            self.diagnose(source, path + ("effect",), "missing_obligations", f"`{effect}` needs `obligations`",
                        rule=rule.id, help="list what must be done, or make the effect `allow`")
        ctx = Context(source, rule.id, self.problems, patterns=self.patterns, known_scopes=self.scopes)
        when = lower_condition(rule.when, ctx) if rule.when is not None else None
        compiled_obligations = [o for spec in obligations if (o := self.obligation(spec, ctx)) is not None]
        message = self.message(rule.message, path + ("reason", "message"), ctx)
        if len(self.problems) > before:
            return None
        return ir.Rule(
            id=rule.id, effect=ir.enum_value("Effect", effect), waivable_by_author=rule.author_may_waive,
            actions=rule.actions or ACTIONS, destinations=_destinations(rule), when=when,
            obligations=compiled_obligations, reason_code=rule.reason_code, message=message,
            schemes_read=sorted(set(_schemes_read(rule))), consent_scopes_read=sorted(ctx.consent_scopes))

    def obligation(self, spec: model.Obligation, ctx: Context) -> ir.Obligation | None:
        name, raw, path = spec.type, spec.parameters, spec.path
        kind = OBLIGATION_TYPES[name]
        declared = dict(kind.params)
        if not spec.given:
            raw = {}
        # A scalar or a `{fact: …}` sets the main parameter: `add_notice: chatham_house_rule`.
        if not isinstance(raw, dict) or set(raw) == {"fact"}:
            if not kind.params:
                ctx.report(Invalid(path, "unexpected_parameter", f"`{name}` takes no parameter", f"write `- {name}`"))
                return None
            raw = {kind.params[0][0]: raw}
        raw = {**dict(kind.defaults), **raw}
        ctx.consent_scopes.update(kind.consent_scopes)
        params: dict[str, ir.Parameter] = {}
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
        return ir.Obligation(type=name, parameters=params)

    def message(self, template: str, path: tuple, ctx: Context) -> list[ir.MessagePiece]:
        pieces: list[ir.MessagePiece] = []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            ctx.report(Invalid(path, "bad_message", f"the message cannot be filled in: {error}",
                               "write `{{` and `}}` for literal braces"))
            return [ir.MessagePiece(text=template)]
        for literal, field, _spec, _conv in parsed:
            if literal:
                pieces.append(ir.MessagePiece(text=literal))
            if field is None:
                continue
            try:
                resolve(field, {})
            except UnknownFact as error:
                ctx.report(Invalid(path, "unknown_fact", f"{error} in the message", error.help))
                continue
            pieces.append(ir.MessagePiece(fact=ir.Fact(path=field)))
        return pieces

    # ---- bindings -----------------------------------------------------------

    def bindings(self, files: tuple[model.Bindings, ...], agreements: dict[str, ir.Agreement]) -> list[ir.Binding]:
        result: dict[str, ir.Binding] = {}
        for bindings in files:
            source = bindings.source
            for binding in bindings.bindings:
                if binding.group in result:
                    self.diagnose(source, binding.path + ("group",), "duplicate_binding",
                                f"group `{binding.group}` is bound twice")
                    continue
                adoptions = [parsed for adoption in binding.adoptions
                             if (parsed := self.adoption(adoption, source, agreements)) is not None]
                for problem in adoption_problems([_as_engine_adoption(a) for a in adoptions]):
                    self.diagnose(source, binding.path + ("adoptions", problem.index, "replaces"), problem.code,
                                problem.message)
                result[binding.group] = ir.Binding(group=binding.group, adoptions=adoptions)
        return list(result.values())

    def adoption(self, adoption: model.Adoption, source: Source,
                 agreements: dict[str, ir.Agreement]) -> ir.Adoption | None:
        path, agreement = adoption.path, adoption.agreement
        if agreement not in agreements:
            self.diagnose(source, path + ("agreement",), "unknown_agreement", f"unknown agreement `{agreement}`",
                        help=did_you_mean(agreement, sorted(agreements)))
            return None
        numbers = [v.number for v in agreements[agreement].versions]
        if adoption.version and adoption.version not in numbers:
            self.diagnose(source, path + ("version",), "unknown_version", f"`{agreement}` has no version {adoption.version}",
                        help="versions: " + ", ".join(map(str, numbers)))
            return None
        try:
            effective = (parse_instant(adoption.effective_from, path + ("effective_from",))
                         if adoption.effective_from is not None else None)
            disclosed = (parse_instant(adoption.disclosed_at, path + ("disclosed_at",))
                         if adoption.disclosed_at is not None else None)
        except Invalid as error:
            self.diagnose(source, error.path, error.code, error.message, help=error.help)
            return None
        replaces = []
        for j, replaced in enumerate(adoption.replaces):
            if replaced in agreements:
                replaces.append(replaced)
            else:
                self.diagnose(source, path + ("replaces", j), "unknown_agreement", f"unknown agreement `{replaced}`",
                              help=did_you_mean(replaced, sorted(agreements)))
        return ir.Adoption(agreement=agreement, version=adoption.version, effective_from=_instant(effective),
                           disclosed_at=_instant(disclosed), replaces=replaces, segments=adoption.segments,
                           default_labels=dict(adoption.default_labels), label_floors=dict(adoption.label_floors))


def _as_engine_adoption(a: ir.Adoption) -> Adoption:
    return Adoption(a.agreement, a.version, ir.nanoseconds(a.effective_from) if a.HasField("effective_from") else None,
                    ir.nanoseconds(a.disclosed_at) if a.HasField("disclosed_at") else None, tuple(a.replaces))


def _instant(nanoseconds: int | None) -> ir.Instant | None:
    return None if nanoseconds is None else ir.instant(nanoseconds)


_LABEL_FACT = re.compile(r"item\.label(?:_param)?\.([A-Za-z0-9_+-]+)")


def _schemes_read(rule: model.Rule) -> Iterator[str]:
    """The label schemes a rule names anywhere: in a condition's facts and operands, its obligations, its message."""
    # The description too: a rule that names a scheme anywhere is carried by its labels (the stricter reading).
    texts: list[Any] = [rule.description, rule.message, *(o.parameters for o in rule.obligations)]
    if rule.when is not None:
        for entry in model.walk(rule.when):
            texts.append(entry.text)
    yield from _names(texts)


def _names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _names(key)
            yield from _names(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _names(value)
    elif isinstance(node, str):
        yield from (match.group(1).lower() for match in _LABEL_FACT.finditer(node))


def _destinations(rule: model.Rule) -> tuple[str, ...]:
    if rule.destinations is not None:
        return rule.destinations
    return tuple(k for k in DESTINATION_KINDS if k not in rule.destinations_except)


def _parameter(value: Any, kind: str, path: tuple, ctx: Context) -> ir.Parameter:
    if kind == "consent_scope":
        # Named, never read from a fact: the compiler must know every scope a rule reads.
        return ir.Parameter(text=consent_scope(value, path, ctx))
    if isinstance(value, dict) and set(value) == {"fact"}:
        try:
            _, fact_type = resolve(value["fact"], {})
        except UnknownFact as error:
            raise Invalid(path + ("fact",), "unknown_fact", str(error), error.help) from None
        if kind == "instant" and fact_type.kind not in ("instant", "text", "any"):
            raise Invalid(path, "wrong_type", f"`{value['fact']}` is {fact_type.describe()}, not a time")
        return ir.Parameter(fact=ir.Fact(path=value["fact"]))
    if kind == "instant":
        return ir.Parameter(instant=ir.instant(parse_instant(value, path)))
    if not isinstance(value, str):
        raise Invalid(path, "wrong_type", f"`{value}` must be text")
    return ir.Parameter(text=value)
