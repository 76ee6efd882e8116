"""Property: an error while evaluating a rule never makes a decision less restrictive.

Random rules of the shipped policy are made to fail (as a missing custom fact
or a type mismatch would); for random requests, every item is decided at
least as strictly as without the failure, and an item a failing rule
applied to is denied with a finding naming that rule.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from discretion.engine import decide
from discretion.engine.compiled import CompiledPolicy
from strategies import NOW, POLICY, budget, requests
from test_stacking_property import _with

RULES = sorted({(r.agreement, r.version, r.id) for versions in POLICY.versions.values() for v in versions.values()
                for rules in v.index.values() for r in rules})
RANK = {"allow": 0, "allow_with_obligations": 1, "deny": 2}


def _failing(error: Exception):
    def condition(scope):
        raise error
    return condition


def with_failures(policy: CompiledPolicy, failing: set[tuple], error: Exception) -> CompiledPolicy:
    """The same policy with the chosen rules' conditions raising `error`."""
    versions = {}
    for agreement, by_number in policy.versions.items():
        versions[agreement] = {}
        for number, version in by_number.items():
            swapped = {}
            index = {key: tuple(swapped.setdefault(id(r), dataclasses.replace(r, condition=_failing(error)))
                                if (r.agreement, r.version, r.id) in failing else r for r in rules)
                     for key, rules in version.index.items()}
            versions[agreement][number] = dataclasses.replace(version, index=index)
    return dataclasses.replace(policy, versions=versions, terms_cache={})


@budget(300)
@given(drawn=requests(), failing=st.sets(st.sampled_from(RULES), min_size=1, max_size=6),
       error=st.sampled_from([KeyError("attributes.tier"), TypeError("'<' not supported"), ValueError("bad time")]))
def test_an_evaluation_error_never_loosens_a_decision(drawn, failing, error):
    request, adopted = drawn
    request = _with(request, adopted)
    sound = decide(POLICY, request, now=NOW)
    broken = decide(with_failures(POLICY, failing, error), request, now=NOW)
    assert RANK[broken.decision] >= RANK[sound.decision], (sound.reason, broken.reason)
    for before, after in zip(sound.items, broken.items):
        assert RANK[after.decision] >= RANK[before.decision], (before, after)
    for finding in broken.findings:
        if finding.reason_code == "rule_evaluation_failed":
            assert (finding.agreement, finding.version, finding.rule) in failing
            assert next(i for i in broken.items if i.item_id == finding.item_id).decision == "deny"
