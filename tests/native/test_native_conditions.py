"""The native engine's conditions, facts, messages and patterns held to the reference evaluator's.

Every rule's condition and message is evaluated for every item of a request by
engine/build.py's closures and by native/src/conditions.rs, and the two must
agree: on whether it holds, or on why it could not be evaluated (the detail
of decide._fail_closed's finding), and on the message word for word. The
native loader (native/src/build.rs) must refuse what build.py refuses, in its
words; and a pattern must find the same texts under RE2 and here.
"""

from __future__ import annotations

import pathlib
import sys

import discretion_native
import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from discretion import ir
from discretion.engine.build import build_policy, compile_pattern
from discretion.engine.compiled import scheme_key
from discretion.engine.obligations import UnreadableFact
from discretion.engine.scope import Scope
from discretion.store.files import lower_directory

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from strategies import NOW, budget, requests  # noqa: E402  (tests/strategies.py)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = lower_directory(ROOT / "rules")
SHIPPED_BYTES = SHIPPED.SerializeToString()


# ---- evaluating every rule both ways -------------------------------------------------


def _detail(error: Exception) -> str:
    """What decide._fail_closed says of a failure."""
    if isinstance(error, KeyError):
        return f"the fact `{error.args[0]}` is missing from the request"
    if isinstance(error, UnreadableFact):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _labels(item) -> tuple[dict, dict]:
    """The item's labels as the scope holds them (the last label of a scheme standing for the effective one)."""
    label, params = {}, {}
    for lab in item.labels:
        label[scheme_key(lab.scheme)] = lab.value
        params[scheme_key(lab.scheme)] = dict(lab.params)
    return label, params


def _reference(policy, request, labels, params, requested_at):
    outcomes = {}
    for by_number in policy.versions.values():
        for version in by_number.values():
            seen = set()
            for rules in version.index.values():
                for rule in rules:
                    if id(rule) in seen:
                        continue
                    seen.add(id(rule))
                    results = []
                    for item, label, param in zip(request.items, labels, params):
                        scope = Scope(request, item, requested_at, label, param)
                        try:
                            held, failure = bool(rule.condition(scope)), None
                        except Exception as error:  # noqa: BLE001 — what decide catches
                            held, failure = None, _detail(error)
                        try:
                            message, message_failure = rule.message(scope), None
                        except Exception as error:  # noqa: BLE001
                            message, message_failure = None, _detail(error)
                        results.append((held, failure, message, message_failure))
                    outcomes[f"{rule.agreement}@{rule.version}/{rule.id}"] = results
    return outcomes


def assert_same_outcomes(ir_bytes: bytes, request, native=None, reference=None) -> int:
    """Both evaluators' outcome of every rule for every item of `request`; the number compared."""
    reference = reference or build_policy(ir.Policy.FromString(ir_bytes))
    native = native or discretion_native.ConditionsPolicy(ir_bytes)
    pairs = [_labels(item) for item in request.items]
    labels, params = [p[0] for p in pairs], [p[1] for p in pairs]
    requested_at = request.requested_at if request.requested_at is not None else NOW
    expected = _reference(reference, request, labels, params, requested_at)
    got = native.evaluate(request, labels, params, requested_at)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key
    return sum(len(v) for v in expected.values())


@pytest.fixture(scope="module")
def shipped():
    return discretion_native.ConditionsPolicy(SHIPPED_BYTES), build_policy(SHIPPED)


def test_every_rule_of_the_shipped_suites_holds_alike_for_every_item(suite_requests, shipped):
    compared = sum(assert_same_outcomes(SHIPPED_BYTES, request, *shipped) for _, request in suite_requests)
    assert compared > 5_000


@given(requests())
@budget(200)
def test_every_shipped_rule_holds_alike_for_random_requests(drawn):
    request, _ = drawn
    assert_same_outcomes(SHIPPED_BYTES, request, *_SHIPPED_POLICIES)


_SHIPPED_POLICIES = (discretion_native.ConditionsPolicy(SHIPPED_BYTES), build_policy(SHIPPED))


# ---- random conditions over every kind of fact ------------------------------------------

# Fact paths of every type, as rules name them; custom attributes of every JSON shape.
TEXT_FACTS = ["action", "destination.kind", "item.author.id", "item.author.organization", "actor.organization",
              "item.label.tlp", "item.label_param.embargo.until", "item.text", "quoted_text", "attribution.descriptor",
              "item.session.segment", "actor.id", "item.kind"]
INSTANT_FACTS = ["requested_at", "item.posted_at", "item.retracted_at", "actor.joined_at", "group.converted_at"]
BOOL_FACTS = ["actor.member", "destination.service.may_train", "destination.service.retains",
              "destination.publicly_accessible", "attribution.author_identity"]
INT_FACTS = ["item.session.speaker_count"]
LIST_FACTS = ["item.exchange_participants", "group.community", "item.author.handles"]
ANY_FACTS = ["attributes.a", "attributes.b", "attributes.a.k", "attributes.missing", "attributes"]
RECORD_FACTS = ["item.author", "item.session", "destination.service"]
ALL_FACTS = TEXT_FACTS + INSTANT_FACTS + BOOL_FACTS + INT_FACTS + LIST_FACTS + ANY_FACTS + RECORD_FACTS

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, 1.0, -2.5, 1e16, 3.0e-5]),
                         st.sampled_from(["", "a", "u0", "Contoso", "it's", "é\u200b", "1"]))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    # In key order: the Rust model keeps a custom attribute's keys sorted, and shows them so (see the report).
    st.dictionaries(st.sampled_from(["k", "j"]), inner, max_size=2).map(lambda d: dict(sorted(d.items())))),
    max_leaves=6)


def _value(v) -> ir.Value:
    if v is None:
        return ir.Value(null=True)
    if isinstance(v, bool):
        return ir.Value(boolean=v)
    if isinstance(v, int):
        return ir.Value(integer=v)
    if isinstance(v, float):
        return ir.Value(number=v)
    if isinstance(v, str):
        return ir.Value(text=v)
    return ir.Value(list=ir.Values(values=[_value(x) for x in v]))


OPERATORS = ["eq", "ne", "in", "not_in", "contains", "lt", "le", "gt", "ge"]
VOCABULARY = {"action": ["share", "quote", "export"], "destination.kind": ["public", "ai_tool", "same_group"],
              "item.kind": ["message", "transcript"]}


def _literal_for(fact: str):
    if fact in VOCABULARY:
        return st.sampled_from(VOCABULARY[fact]).map(lambda t: ir.Value(text=t))
    if fact in TEXT_FACTS or fact in LIST_FACTS:
        return st.sampled_from(["", "share", "public", "u0", "u1", "Contoso", "red", "amber", "message", "x"]).map(
            lambda t: ir.Value(text=t))
    if fact in INSTANT_FACTS:
        return st.sampled_from([None, NOW, NOW - 1000 * 10**9]).map(
            lambda t: ir.Value(null=True) if t is None else ir.Value(instant=ir.instant(t)))
    if fact in BOOL_FACTS:
        return st.booleans().map(lambda b: ir.Value(boolean=b))
    if fact in INT_FACTS:
        return st.integers(-1, 3).map(lambda i: ir.Value(integer=i))
    return json_values.filter(lambda v: not isinstance(v, dict)).map(_value)


@st.composite
def compares(draw, facts=ALL_FACTS):
    fact = draw(st.sampled_from(facts))
    ops = ["eq", "ne", "in", "not_in"]
    if fact in LIST_FACTS or fact.endswith("handles"):
        ops = ["contains"] * 3 + ops
    elif fact in INSTANT_FACTS + INT_FACTS + ANY_FACTS or fact == "p":
        ops += ["lt", "le", "gt", "ge"]
    op = draw(st.sampled_from(ops) if draw(st.integers(0, 9)) else st.sampled_from(OPERATORS))
    # Mostly the operand the operator takes, sometimes another: a refusal is compared too.
    fitting = ["values", "other"] if op in ("in", "not_in") else ["value", "other"]
    operand = draw(st.sampled_from(fitting * 4 + ["value", "values", "other"]))
    compare = ir.Compare(op=ir.enum_value("Operator", op), fact=ir.Fact(path=fact))
    if operand == "other":
        compare.other.path = draw(st.sampled_from(ALL_FACTS))
    elif operand == "values":
        compare.values.values.extend(draw(st.lists(_literal_for(fact), max_size=3)))
    else:
        compare.value.CopyFrom(draw(_literal_for(fact)))
    return ir.Expr(compare=compare)


PATTERNS = ["^u", r"\bChen\b", "(?i)contoso", r"\d", "^$", r"[a-c]+\s", "x|y"]


def leaves():
    return st.one_of(
        compares(),
        st.builds(lambda f, p: ir.Expr(exists=ir.Exists(fact=ir.Fact(path=f), present=p)),
                  st.sampled_from(ALL_FACTS), st.booleans()),
        st.builds(lambda f, p: ir.Expr(matches=ir.Matches(fact=ir.Fact(path=f), pattern=p)),
                  st.sampled_from(TEXT_FACTS + ANY_FACTS), st.sampled_from(PATTERNS)),
        st.booleans().map(lambda b: ir.Expr(actor_is_author=b)),
        st.builds(lambda q, where: ir.Expr(quantified=ir.Quantified(
            quantifier=ir.enum_value("Quantifier", q), of=ir.Fact(path="group.participants"), where=where,
            **{"as": "p"})), st.sampled_from(["some", "every", "none"]),
            st.lists(compares([f"p.{f}" for f in ("id", "organization", "is_minor", "handles")] + ["p"]),
                     min_size=1, max_size=2).map(lambda es: ir.Condition(entries=es))),
    )


conditions_ = st.recursive(
    st.lists(leaves(), min_size=1, max_size=2).map(lambda es: ir.Condition(entries=es)),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=2).map(lambda cs: ir.Condition(entries=[ir.Expr(all=ir.Conditions(conditions=cs))])),
        st.lists(inner, min_size=1, max_size=2).map(lambda cs: ir.Condition(entries=[ir.Expr(any=ir.Conditions(conditions=cs))])),
        inner.map(lambda c: ir.Condition(entries=[ir.Expr(**{"not": c})])),
    ), max_leaves=4)


EFFECTS = ["allow", "allow_with_obligations", "deny", "deny_unless_allowed", "require"]


def _policy_of(conditions, message_facts) -> ir.Policy:
    policy = ir.Policy(ir_version=ir.IR_VERSION, revision="r")
    agreement = policy.agreements.add(id="a", title="A")
    version = agreement.versions.add(number=1)
    for i, condition in enumerate(conditions):
        # Effects in turn, so that "otherwise deny" rules must be indexed after the others.
        rule = version.rules.add(id=f"r{i}", effect=ir.enum_value("Effect", EFFECTS[(3 + i) % 5]),
                                 actions=["share", "quote"][: 1 + i % 2], destinations=["public", "ai_tool"],
                                 reason_code="x")
        rule.when.CopyFrom(condition)
        rule.message.add(text="because ")
        for fact in message_facts:
            rule.message.add(fact=ir.Fact(path=fact))
            rule.message.add(text=" / ")
    return policy


def _refusal(build):
    try:
        build()
    except Exception as error:  # noqa: BLE001 — build.py refuses with ValueError, and TypeError for a list in `in`
        return str(error)
    return None


@given(requests(), st.lists(conditions_, min_size=1, max_size=3),
       st.lists(st.sampled_from(ALL_FACTS), max_size=2),
       st.dictionaries(st.sampled_from(["a", "b"]), json_values, max_size=2).map(lambda d: dict(sorted(d.items()))))
@budget(150)
def test_random_conditions_hold_alike_or_are_refused_alike(drawn, conditions, message_facts, attributes):
    request, _ = drawn
    request.attributes = attributes
    policy = _policy_of(conditions, message_facts)
    data = policy.SerializeToString()
    refused = _refusal(lambda: build_policy(policy))
    assert discretion_native.conditions_build_error(data) == refused
    if refused is None:
        native, reference = discretion_native.ConditionsPolicy(data), build_policy(policy)
        assert native.shape() == shape(reference)
        assert_same_outcomes(data, request, native, reference)


# ---- refusals ----------------------------------------------------------------------------


def _compare(op: str, fact: str, value: ir.Value) -> ir.Expr:
    return ir.Expr(compare=ir.Compare(op=ir.enum_value("Operator", op), fact=ir.Fact(path=fact), value=value))


RULE_BREAKINGS = [
    lambda rule: setattr(rule, "effect", 0),
    lambda rule: setattr(rule, "effect", 9),
    lambda rule: rule.ClearField("actions"),
    lambda rule: rule.destinations.append("nowhere"),
    lambda rule: rule.obligations.add(type="not_an_obligation"),
    lambda rule: rule.obligations.add(type="hold_until"),
    lambda rule: rule.obligations.add(type="hold_until", parameters={"until": ir.Parameter(text="x")}),
    lambda rule: rule.obligations.add(type="hold_until", parameters={"until": ir.Parameter(
        instant=ir.Instant(seconds=1, nanos=-1))}),
    lambda rule: rule.obligations.add(type="hold_until", parameters={"until": ir.Parameter(
        fact=ir.Fact(path="actor.member"))}),
    lambda rule: rule.obligations.add(type="add_notice", parameters={"notice": ir.Parameter(text="n"),
                                                                    "extra": ir.Parameter(text="x")}),
    lambda rule: rule.obligations.add(type="redact_identifying_content", parameters={
        "people": ir.Parameter(text="nobody")}),
    lambda rule: rule.obligations.add(type="require_author_consent", parameters={
        "scope": ir.Parameter(text="not_a_scope")}),
    lambda rule: rule.obligations.add(type="require_author_consent", parameters={
        "scope": ir.Parameter(fact=ir.Fact(path="actor.id"))}),
    lambda rule: rule.obligations.add(type="require_author_consent", parameters={"scope": ir.Parameter()}),
    lambda rule: rule.when.entries.append(ir.Expr(text="any: []", any=ir.Conditions())),
    lambda rule: rule.when.entries.append(ir.Expr(all=ir.Conditions(conditions=[ir.Condition()]))),
    lambda rule: rule.when.entries.append(ir.Expr(text="not: {}", **{"not": ir.Condition()})),
    lambda rule: rule.when.entries.append(ir.Expr(tests=ir.Exprs())),
    lambda rule: rule.when.entries.append(ir.Expr(text="x")),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", compare=ir.Compare(fact=ir.Fact(path="action")))),
    lambda rule: rule.when.entries.append(ir.Expr(compare=ir.Compare(op=ir.enum_value("Operator", "eq"),
                                                                     fact=ir.Fact(path="action")))),
    lambda rule: rule.when.entries.append(ir.Expr(compare=ir.Compare(
        op=ir.enum_value("Operator", "in"), fact=ir.Fact(path="action"), value=ir.Value(text="share")))),
    lambda rule: rule.when.entries.append(ir.Expr(compare=ir.Compare(
        op=ir.enum_value("Operator", "eq"), fact=ir.Fact(path="action"),
        values=ir.Values(values=[ir.Value(text="share")])))),
    lambda rule: rule.when.entries.append(ir.Expr(compare=ir.Compare(
        op=ir.enum_value("Operator", "in"), fact=ir.Fact(path="attributes.x"),
        values=ir.Values(values=[ir.Value(text="a"), ir.Value(list=ir.Values())])))),
    lambda rule: rule.when.entries.append(ir.Expr(compare=ir.Compare(
        op=ir.enum_value("Operator", "in"), fact=ir.Fact(path="action"), other=ir.Fact(path="actor.id")))),
    lambda rule: rule.when.entries.append(_compare("eq", "no.such.fact", ir.Value(text="x"))),
    lambda rule: rule.when.entries.append(_compare("eq", "item.label", ir.Value(text="x"))),
    lambda rule: rule.when.entries.append(_compare("eq", "item.label_param.x", ir.Value(text="x"))),
    lambda rule: rule.when.entries.append(_compare("eq", "item.author.nope", ir.Value(text="x"))),
    lambda rule: rule.when.entries.append(_compare("eq", "item.author.id.more", ir.Value(text="x"))),
    lambda rule: rule.when.entries.append(_compare("eq", "item.labels.x", ir.Value(text="x"))),
    lambda rule: rule.when.entries.append(_compare("eq", "item.author", ir.Value(text="x"))),
    lambda rule: rule.when.entries.append(_compare("eq", "action", ir.Value(integer=1))),
    lambda rule: rule.when.entries.append(_compare("eq", "action", ir.Value())),
    lambda rule: rule.when.entries.append(_compare("eq", "attributes.x", ir.Value())),
    lambda rule: rule.when.entries.append(_compare("eq", "attributes.x", ir.Value(
        list=ir.Values(values=[ir.Value()])))),
    lambda rule: rule.when.entries.append(_compare("eq", "item.posted_at", ir.Value(
        instant=ir.Instant(seconds=0, nanos=10**9)))),
    lambda rule: rule.when.entries.append(_compare("eq", "destination.kind", ir.Value(text="AI_TOOL"))),
    lambda rule: rule.when.entries.append(_compare("contains", "actor.id", ir.Value(text="a"))),
    lambda rule: rule.when.entries.append(_compare("contains", "group.participants", ir.Value(text="a"))),
    lambda rule: rule.when.entries.append(_compare("lt", "actor.id", ir.Value(text="a"))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", matches=ir.Matches(fact=ir.Fact(path="actor.member"),
                                                                                 pattern="a"))),
    lambda rule: rule.when.entries.append(ir.Expr(exists=ir.Exists(fact=ir.Fact(path="nope")))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", quantified=ir.Quantified(
        of=ir.Fact(path="item.labels"), where=ir.Condition(entries=[ir.Expr(actor_is_author=True)])))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", quantified=ir.Quantified(
        quantifier=ir.enum_value("Quantifier", "some"), of=ir.Fact(path="actor"),
        where=ir.Condition(entries=[ir.Expr(actor_is_author=True)])))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", quantified=ir.Quantified(
        quantifier=ir.enum_value("Quantifier", "some"), of=ir.Fact(path="item.labels")))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", quantified=ir.Quantified(
        quantifier=ir.enum_value("Quantifier", "some"), of=ir.Fact(path="item.labels"), **{"as": "l"},
        where=ir.Condition(entries=[_compare("eq", "l.nope", ir.Value(text="x"))])))),
    lambda rule: rule.when.entries.append(ir.Expr(text="x", consent=ir.Consent(
        test=ir.enum_value("ConsentTest", "author_consented"), scope=""))),
    lambda rule: rule.when.entries.append(ir.Expr(consent=ir.Consent(test=0, scope="listing"))),
    lambda rule: rule.when.entries.append(ir.Expr(consent=ir.Consent(
        test=ir.enum_value("ConsentTest", "consented"), scope="listing", by=ir.Fact(path="actor.member")))),
    lambda rule: rule.message.add(),
    lambda rule: rule.message.add(fact=ir.Fact(path="no.such")),
]


@pytest.mark.parametrize("breaking", RULE_BREAKINGS, ids=[str(i) for i in range(len(RULE_BREAKINGS))])
def test_a_rule_a_compiler_never_writes_is_refused_in_the_same_words(breaking):
    policy = ir.Policy.FromString(SHIPPED_BYTES)
    rule = next(r for a in policy.agreements if a.id == "tlp" for v in a.versions for r in v.rules
                if r.effect == ir.enum_value("Effect", "deny_unless_allowed"))
    breaking(rule)
    refused = _refusal(lambda: build_policy(policy))
    assert refused is not None
    assert discretion_native.conditions_build_error(policy.SerializeToString()) == refused


POLICY_BREAKINGS = [
    lambda p: setattr(p, "ir_version", ir.IR_VERSION + 1),
    lambda p: p.agreements.append(p.agreements[0]),
    lambda p: p.agreements[0].versions.append(p.agreements[0].versions[0]),
    lambda p: p.label_schemes.append(p.label_schemes[0]),
    lambda p: p.label_schemes[0].ClearField("order"),
    lambda p: setattr(p.label_schemes[0], "agreement", "nobody"),
    lambda p: p.label_schemes[0].aliases.update({"x": "no-such-value"}),
    lambda p: p.agreements[0].versions[0].default_labels.update({"no-such-scheme": "x"}),
    lambda p: p.agreements[0].versions[0].label_floors.update({"tlp": "no-such-value"}),
    lambda p: p.agreements[0].versions[0].effective_from.CopyFrom(ir.Instant(seconds=1, nanos=-5)),
    lambda p: p.bindings.add(group="g-new", adoptions=[ir.Adoption(agreement="no-such-agreement")]),
    lambda p: p.bindings.add(group="g-new", adoptions=[ir.Adoption(agreement="tlp", version=99)]),
    lambda p: p.bindings.add(group="g-new", adoptions=[ir.Adoption(agreement="tlp", replaces=["nope"])]),
    lambda p: p.bindings.extend([ir.Binding(group="g2"), ir.Binding(group="g2")]),
    lambda p: p.consent_scopes.add(name="listing", agreement="tlp"),
    lambda p: p.consent_scopes.add(name="", agreement="tlp"),
    lambda p: p.consent_scopes.add(name="mine", agreement="nobody"),
]


@pytest.mark.parametrize("breaking", POLICY_BREAKINGS, ids=[str(i) for i in range(len(POLICY_BREAKINGS))])
def test_a_policy_a_compiler_never_writes_is_refused_whole_in_the_same_words(breaking):
    policy = ir.Policy.FromString(SHIPPED_BYTES)
    breaking(policy)
    refused = _refusal(lambda: build_policy(policy))
    assert refused is not None
    assert discretion_native.conditions_build_error(policy.SerializeToString()) == refused


def test_the_shipped_policy_builds():
    assert discretion_native.conditions_build_error(SHIPPED_BYTES) is None


def test_bytes_that_are_no_compiled_policy_are_refused():
    assert discretion_native.conditions_build_error(b"\xff\xff\xff") is not None


# ---- patterns ----------------------------------------------------------------------------

PATTERN_ATOMS = [
    "a", "b", "K", "k", "\u212a", "s", "\u017f", "é", "_", "0", "9", " ", ".", r"\d", r"\D", r"\s", r"\S", r"\w", r"\W",
    r"\b", r"\B", "^", "$", r"\A", r"\z", "[a-c]", "[^a-c]", r"[\d_]", r"[\W]", "[[:alpha:]]", "[[:^space:]]",
    r"\pL", r"\p{Greek}", r"\PN", r"\p{^Lu}", r"\x41", r"\x{e9}", r"\.", r"\<", r"\-", "[a&&b]", "[a--b]",
    "[a[b]", r"\t", r"\v", "{", "a{2}", "{,3}", "}", "]", "(?i)", "(?s)", "(?m)", "(?U)", "&", "~", "#", "-",
]
pattern_texts = st.recursive(
    st.sampled_from(PATTERN_ATOMS),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map("|".join),
        inner.map(lambda p: f"({p})"), inner.map(lambda p: f"(?i:{p})"), inner.map(lambda p: f"(?:{p})*"),
        st.tuples(inner, st.sampled_from(["*", "+", "?", "{1,2}", "*?", "{0}"])).map("".join),
    ), max_leaves=6)
subjects = st.text(st.sampled_from("abcKkSs\u212a\u017fé09 _\t\n\x0b.<-&{}[]Ελ\u00a0\u2003é\u0301A"), max_size=12)


def _accepted_by_the_compiler(pattern: str) -> bool:
    try:
        return compile_pattern(pattern).programsize <= 250
    except re2.error:
        return False


@given(pattern_texts, st.lists(subjects, min_size=1, max_size=8))
@settings(parent=budget(300))
def test_a_pattern_the_compiler_accepts_finds_the_same_texts_or_is_refused(pattern, texts):
    if not _accepted_by_the_compiler(pattern):
        return
    try:
        found = [discretion_native.conditions_pattern_matches(pattern, t) for t in texts]
    except ValueError:
        return  # refused: the policy stays with the reference evaluator
    assert found == [compile_pattern(pattern).search(t) is not None for t in texts], pattern


@pytest.mark.parametrize("pattern", [r"\bfoo\b", r"\d+", r"(?i)contoso", r"^u[0-9]+$", r"[[:alpha:]]+",
                                     r"\s", r"\w+@\w+\.\w+", r"(?i)\bmr\.?\s", "a{1,3}b", r"\<", "[a&&b]"])
def test_the_patterns_authors_write_are_not_refused(pattern):
    discretion_native.conditions_pattern_matches(pattern, "")


# ---- messages --------------------------------------------------------------------------

any_text = st.text(max_size=6) | st.sampled_from(["it's", 'say "hi"', "both ' and \"", "\\", "é\u200b\u00a0\x7f\u2028"])
any_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1),
              st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer() or abs(f) >= 2**53),
              any_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(any_text, inner, max_size=2).map(lambda d: dict(sorted(d.items())))),
    max_leaves=8)
MESSAGE_POLICY = _policy_of([ir.Condition()], ["attributes.x", "attributes", "item.author", "item.labels",
                                               "destination.service", "item.label_param.embargo.until"])


@given(requests(), any_values)
@budget(100)
def test_a_message_shows_every_value_as_pythons_str_does(drawn, value):
    request, _ = drawn
    request.attributes = {"x": value}
    assert_same_outcomes(MESSAGE_POLICY.SerializeToString(), request)


# ---- what the policy holds besides conditions ----------------------------------------------


def _param(p):
    try:
        value = p(None)  # a literal's closure ignores the scope
    except Exception:  # noqa: BLE001 — a getter reads the scope
        return "fact"
    return str(value)


def shape(policy):
    """The reference's CompiledPolicy as the native `shape()` describes its own."""
    agreements = [(a.id, a.version, a.title, a.summary, a.source, a.platform_wide,
                   [(v.version, v.effective_from, v.disclosed_at) for v in a.versions]) for a in policy.agreements]
    bindings = {g: [((a.agreement, a.version, a.effective_from, a.disclosed_at),
                     (list(a.replaces), list(a.segments), sorted(a.default_labels.items()), sorted(a.label_floors.items())))
                    for a in adoptions] for g, adoptions in policy.bindings.items()}
    schemes = {n: (list(s.order), sorted(s.aliases.items()), s.agreement, sorted(s.relabel_by))
               for n, s in policy.label_schemes.items()}
    versions, rules = {}, {}
    for by_number in policy.versions.values():
        for v in by_number.values():
            index = {f"{a}/{d}": [f"{r.agreement}@{r.version}/{r.id}" for r in rs] for (a, d), rs in v.index.items()}
            for rs in v.index.values():
                for r in rs:
                    obligations = [(o.type, sorted((n, _param(p)) for n, p in o.params.items())) for o in r.obligations]
                    rules[f"{r.agreement}@{r.version}/{r.id}"] = (
                        (r.effect, r.waivable_by_author, r.reason_code, list(r.actions), list(r.destinations)),
                        (sorted(r.schemes), sorted(r.consent_scopes), obligations))
            versions[v.key] = ((v.effective_from, v.disclosed_at, v.published_at, v.authors_may_restrict_later),
                               (sorted(v.default_labels.items()), sorted(v.label_floors.items()), sorted(v.frozen_schemes),
                                dict(sorted(index.items()))))
    return ((policy.revision, agreements, list(policy.platform_wide), dict(sorted(bindings.items()))),
            (dict(sorted(schemes.items())), sorted(policy.consent_scopes_read), dict(sorted(versions.items())),
             dict(sorted(rules.items()))))


def test_the_shipped_policy_is_built_alike_index_labels_bindings_and_all():
    assert discretion_native.ConditionsPolicy(SHIPPED_BYTES).shape() == shape(build_policy(SHIPPED))


def test_a_rule_that_forgets_the_labels_it_reads_is_built_alike():
    policy = ir.Policy.FromString(SHIPPED_BYTES)
    for agreement in policy.agreements:
        for version in agreement.versions:
            for rule in version.rules:
                rule.ClearField("schemes_read")
                rule.ClearField("consent_scopes_read")
    assert discretion_native.ConditionsPolicy(policy.SerializeToString()).shape() == shape(build_policy(policy))


# Where RE2 and the `regex` crate are known to read a pattern apart: each must find what RE2 finds, or be refused.
KNOWN_DIFFERENCES = [
    (r"\s", "\x0b"), (r"\S", "\x0b"), (r"\d", "\u0663"), (r"\w", "\u00e9"), (r"\W", "\u00e9"), (r"a\b", "a\u00e9"),
    (r"a\B", "a\u00e9"), (r"[\s]", "\x0b"), (r"[^\d]", "\u0663"), (r"\<", "<"), (r"\>", ">"), (r"\b{start}", "{start}"),
    ("[a&&b]", "&"), ("[a--b]", "-"), ("[a~~b]", "~"), ("[a[b]", "["), ("[a[b]]", "a]"), ("x{,3}", "x{,3}"), ("a{", "a{"),
    ("a{1", "a{1"), ("{", "{"), ("}", "}"), ("]", "]"), (r"(?i)\w", "\u212a"), (r"(?i)k", "\u212a"), (r"(?i)s", "\u017f"),
    (r"(?i)[^k]", "\u212a"), (r"(?i)[[:upper:]]", "a"), (r"\_", "_"), ("#", "#"), ("&", "&"), ("~", "~"), (r"\x41", "A"),
    ("(?U)a+", "aa"), (r"\0", "\x00"), (r"\pL", "\u1c89"), (r"(?i)\x{a7cb}", "\u0264"), ("(?x)a b", "ab"),
    # RE2 finds "no word boundary" between the two bytes of `ı`.
    (r"\B", "a\u0131b"), (r"a\Bb", "ab"),
]


@pytest.mark.parametrize("pattern,text", KNOWN_DIFFERENCES)
def test_where_the_two_engines_differ_the_native_one_finds_what_re2_finds_or_refuses(pattern, text):
    try:
        expected = compile_pattern(pattern).search(text) is not None
    except re2.error:
        expected = "refused"
    try:
        found = discretion_native.conditions_pattern_matches(pattern, text)
    except ValueError:
        return  # refused: the policy stays with the reference evaluator
    assert found == expected, (pattern, text)


def test_a_unicode_class_is_refused_as_its_tables_differ():
    with pytest.raises(ValueError):
        discretion_native.conditions_pattern_matches(r"\p{Han}+", "")


def test_not_a_word_boundary_is_refused_as_re2_finds_one_inside_a_character():
    with pytest.raises(ValueError):
        discretion_native.conditions_pattern_matches(r"\B", "a\u0131b")


ORDERED = [("requested_at", ir.Value(instant=ir.instant(NOW + d))) for d in (-1, 0, 1)] + [
    ("attributes.n", ir.Value(integer=n)) for n in (1, 2, 3)] + [("attributes.n", ir.Value(number=2.0)),
                                                                 ("attributes.n", ir.Value(boolean=True))]


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_every_ordering_holds_alike_at_equal_and_unequal_values(op, suite_requests):
    conditions = [ir.Condition(entries=[_compare(op, fact, value)]) for fact, value in ORDERED]
    data = _policy_of(conditions, []).SerializeToString()
    _, request = suite_requests[0]
    for n in (2, 2.0, True, "2", None):
        request.attributes = {"n": n}
        request.requested_at = NOW
        assert_same_outcomes(data, request)
