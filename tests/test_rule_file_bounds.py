"""What a rule file may hold: rules per version, patterns and their budget, and any shape of YAML.

A rule file is written by a community's moderators, sometimes one platform per
tenant, and read by every worker on every reload: each bound here is a
diagnostic with its place, never a slow reload or a worker's memory.
"""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discretion.compile import compile_documents
from discretion.compile.compiler import MAX_RULES
from discretion.compile.conditions import Patterns
from discretion.errors import PolicyError

HEAD = "agreement: big\ntitle: Big\nsummary: many rules\nversions:\n  - version: 1\n    rules:\n"


def rules_file(conditions: list[str]) -> bytes:
    """One agreement version with one deny rule per condition, a line each (rule i on line 7 + i)."""
    lines = [f"      - {{id: r{i}, when: {c}, effect: deny, reason: {{code: c, message: m}}}}\n"
             for i, c in enumerate(conditions)]
    return (HEAD + "".join(lines)).encode()


def rule_ids(policy) -> set[str]:
    version = policy.versions["big"][1]
    return {rule.id for rules in version.index.values() for rule in rules}


def diagnostics(content: bytes, name: str = "big.yaml") -> list:
    with pytest.raises(PolicyError) as raised:
        compile_documents([(name, content)])
    return raised.value.errors


def test_a_version_may_hold_max_rules_and_no_more():
    at_limit = [f"{{actor.id: a{i}}}" for i in range(MAX_RULES)]
    policy = compile_documents([("big.yaml", rules_file(at_limit))])
    assert len(rule_ids(policy)) == MAX_RULES
    (problem,) = diagnostics(rules_file(at_limit + ["{actor.id: one-more}"]))
    assert problem.code == "too_many_rules" and problem.file == "big.yaml"
    assert (problem.line, problem.column) == (7 + MAX_RULES, 9)  # the first rule past the limit
    assert f"{MAX_RULES + 1} rules" in problem.message


def test_the_same_pattern_in_many_rules_counts_once():
    shared = '{quoted_text: {matches: "(?i)\\\\b(password|secret|token|api[_-]?key)\\\\b"}}'
    policy = compile_documents([("big.yaml", rules_file([shared] * (Patterns.MAX_COUNT * 4)))])
    assert len(rule_ids(policy)) == Patterns.MAX_COUNT * 4


def test_distinct_patterns_past_the_count_are_refused_each_at_its_place():
    patterns = [f'{{quoted_text: {{matches: "secret{i}"}}}}' for i in range(Patterns.MAX_COUNT + 3)]
    problems = diagnostics(rules_file(patterns))
    assert [p.code for p in problems] == ["pattern_budget"] * 3
    assert [p.rule for p in problems] == [f"r{Patterns.MAX_COUNT + i}" for i in range(3)]
    assert problems[0].line == 7 + Patterns.MAX_COUNT


def test_patterns_near_re2s_memory_limit_are_refused_and_stop_being_compiled():
    """The probe's file: 200 patterns just under the old 8 MiB limit put a worker at 472 MiB."""
    patterns = [f'{{quoted_text: {{matches: "(?:\\\\pL|\\\\pN){{{60 + i}}}z"}}}}' for i in range(200)]
    problems = diagnostics(rules_file(patterns))
    assert len(problems) == 200
    codes = [p.code for p in problems]
    # Each refused pattern is charged a whole pattern's budget, so only the first few are compiled at all.
    refused = Patterns.MAX_TOTAL // Patterns.MAX_PATTERN
    assert codes == ["pattern_too_large"] * refused + ["pattern_budget"] * (200 - refused)
    assert all(p.line == 7 + i and p.column > 0 for i, p in enumerate(problems))


def test_a_pattern_the_budget_allows_answers_as_written():
    policy = compile_documents([("big.yaml", rules_file(['{quoted_text: {matches: "[a-z ]{120}q"}}']))])
    assert rule_ids(policy) == {"r0"}


# ---- any shape of YAML ------------------------------------------------------------------------

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.sampled_from(
    ["share", "deny", "allow", "public", "item.labels", "actor.id", "any", "all", "not", "", "2026-01-01T00:00:00Z"]))
_KEYS = st.sampled_from(["all", "any", "not", "some", "every", "when", "eq", "in", "matches", "actor.id",
                         "destination.kind", "item", "x", "rules", "version", "id"])


@st.composite
def _shapes(draw):
    """A value nested 0–150 deep (a list or a mapping at each level, siblings beside), as a short recipe.

    Drawn as a pattern of levels that repeats, not level by level, so a deep
    value costs hypothesis a few choices, not one per level.
    """
    depth = draw(st.integers(0, 150))
    levels = draw(st.lists(st.tuples(st.booleans(), _KEYS, st.lists(_SCALARS, max_size=2)), min_size=1, max_size=6))
    value = draw(_SCALARS)
    for n in range(depth):
        as_list, key, siblings = levels[n % len(levels)]
        if as_list:
            value = [value, *siblings]
        else:
            value = {key: value, **{f"{key}{i}": s for i, s in enumerate(siblings)}}
    return value


_SHAPES = _shapes()
_PLACES = st.sampled_from(["when", "obligations", "reason", "rules", "versions", "top"])


def _agreement_with(value, place: str) -> dict:
    rule = {"id": "r", "effect": "deny", "reason": {"code": "c", "message": "m"}}
    document = {"agreement": "fuzzed", "title": "F", "summary": "s", "versions": [{"version": 1, "rules": [rule]}]}
    if place in ("when", "obligations", "reason"):
        rule[place] = value
    elif place == "rules":
        document["versions"][0]["rules"] = value
    elif place == "versions":
        document["versions"] = value
    else:
        document["extra"] = value
    return document


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(value=_SHAPES, place=_PLACES, flow=st.booleans())
def test_any_nested_shape_is_a_policy_or_diagnostics_with_places(value, place, flow):
    document = _agreement_with(value, place)
    text = json.dumps(document) if flow else yaml.safe_dump(document, sort_keys=False)
    try:
        compile_documents([("fuzzed.yaml", text.encode())])
    except PolicyError as error:
        assert error.errors
        for problem in error.diagnostics:
            assert problem.code and problem.file == "fuzzed.yaml" and problem.line >= 1 and problem.column >= 1


def _deep(depth: int, flow: bool) -> bytes:
    """An agreement whose one rule's condition is `not` inside `not`, `depth` times, written as text:
    the encoders recurse, and a file may be deeper than they can write."""
    if flow:
        condition = '{"not": ' * depth + '{"action": "share"}' + "}" * depth
    else:
        condition = "".join("\n" + "  " * (5 + n) + "not:" for n in range(depth)) + "\n" + "  " * (5 + depth) + "action: share"
    return (HEAD + "      - id: r\n        effect: deny\n        reason: {code: c, message: m}\n"
            "        when: " + condition + "\n").encode()


@pytest.mark.parametrize("depth,flow", [(40, True), (40, False), (44, True), (400, True), (400, False),
                                        (50_000, True)])
def test_a_condition_nested_past_the_limit_is_too_deep_at_its_place(depth, flow):
    content = _deep(depth, flow)
    if depth <= 40:  # with the 5 levels above the condition and `action` below, within the 48 a file may nest
        assert rule_ids(compile_documents([("big.yaml", content)])) == {"r"}
        return
    (problem,) = diagnostics(content)
    assert problem.code == "too_deep" and problem.line >= 7 and problem.column >= 1


def test_a_wide_file_is_linear_work_and_its_mistakes_are_each_placed():
    """Ten thousand sibling keys in one condition: each unknown fact reported, none lost, none twice."""
    condition = {f"actor.nope{i}": "x" for i in range(10_000)}
    problems = diagnostics(json.dumps(_agreement_with(condition, "when")).encode(), "wide.yaml")
    assert len(problems) == 10_000 and {p.code for p in problems} == {"unknown_fact"}
    assert len({(p.line, p.column) for p in problems}) == 10_000


# ---- the shadowed-rule check, indexed -------------------------------------------------------------

_VALUES = st.sampled_from(["a", "b", "c", 1, True])
_TESTS = st.one_of(_VALUES, st.lists(_VALUES, max_size=3), st.builds(lambda v: {"in": v}, st.lists(_VALUES, max_size=3)),
                   st.builds(lambda v: {"eq": v}, _VALUES), st.builds(lambda v: {"ne": v}, _VALUES))
_CONDITIONS = st.dictionaries(st.sampled_from(["actor.id", "item.kind", "destination.kind", "actor.role"]), _TESTS,
                              max_size=3)
_RULES = st.builds(
    lambda effect, when, also, actions, waive, obligation: {
        "effect": effect, **({"when": {**when, **({"all": [also]} if also else {})}} if when or also else {}),
        **({"actions": actions} if actions else {}), **({"author_may_waive": waive} if not waive else {}),
        **({"obligations": [{"type": obligation}]} if obligation else {})},
    st.sampled_from(["deny", "allow"]), _CONDITIONS, _CONDITIONS, st.lists(st.sampled_from(["share", "quote"]),
                                                                            max_size=2, unique=True),
    st.booleans(), st.sampled_from([None, "redact_identifying_content"]))


def _rule(data: dict, index: int):
    """The model of a rule the strategies wrote, as the shadow check reads it."""
    from discretion.policy.model import read_rule

    return read_rule({"reason": {"code": "r", "message": "r"}, **data}, ("versions", 0, "rules", index))


@settings(max_examples=300, deadline=None)
@given(st.lists(_RULES, max_size=12))
def test_the_indexed_shadow_check_finds_what_comparing_every_pair_finds(rules):
    from discretion.compile.checks import _shadows, shadowed

    numbered = [_rule(dict(rule, id=f"r{i}"), i) for i, rule in enumerate(rules)]
    every_pair = []
    for later, rule in enumerate(numbered):
        earlier = next((numbered[e] for e in range(later) if _shadows(numbered[e], rule)), None)
        if earlier is not None:
            every_pair.append((rule, earlier))
    assert list(shadowed(numbered)) == every_pair


def test_lint_of_ten_thousand_distinct_rules_compares_few_pairs(monkeypatch):
    """Every pair of 10,000 rules once took lint over ten minutes: the index compares each with a few."""
    from discretion.compile import checks

    compared = []
    real = checks._shadows
    monkeypatch.setattr(checks, "_shadows", lambda earlier, later: compared.append(1) or real(earlier, later))
    numbered = [_rule({"id": f"r{i}", "effect": "deny", "when": {"actor.id": f"a{i}"}}, i) for i in range(10_000)]
    numbered.append(_rule({"id": "again", "effect": "deny", "when": {"actor.id": ["a7", "a8"]}}, 10_000))
    numbered.append(_rule({"id": "narrower", "effect": "deny", "when": {"actor.id": "a9", "item.kind": "x"}}, 10_001))
    found = [(rule.id, earlier.id) for rule, earlier in checks.shadowed(numbered)]
    assert found == [("narrower", "r9")]
    assert len(compared) < 10


def test_a_pattern_searches_each_text_once_per_request_however_many_rules_and_items_ask(monkeypatch):
    """A pattern is budgeted once, so it must cost once: one pattern in 100 rules once searched a quote 100 times."""
    from discretion.author.explain import read_request
    from discretion.engine import build, decide

    searched: list[str] = []

    class Counting:
        def __init__(self, pattern):
            self.pattern = pattern

        def search(self, text):
            searched.append(text)
            return self.pattern.search(text)

    real = build.compile_pattern
    monkeypatch.setattr(build, "compile_pattern", lambda text: Counting(real(text)))
    pattern = '{quoted_text: {matches: "(?:a|b)*a(?:a|b){40}"}}'
    policy = compile_documents([("big.yaml", rules_file([pattern] * 100).replace(b"agreement: big", b"agreement: costly"))])
    quote = "ab" * 5_000
    items = "".join(f"    - {{id: m{i}, author: {{id: bo}}, posted_at: 2026-03-01T10:00:00Z, text: t}}\n" for i in range(20))
    request = read_request(
        "request:\n  action: quote\n  requested_at: 2026-03-02T09:00:00Z\n  actor: {id: ana, member: true}\n"
        f"  quoted_text: {quote}\n"
        "  group: {id: g, adoptions: [{agreement: costly, version: 1}]}\n  items:\n" + items +
        "  destination: {kind: public}\n", "r.yaml")
    decision = decide(policy, request, now=0)
    assert decision.decision == "deny"
    assert searched == [quote]  # 100 rules, 20 items: one search
