"""Property: stacking agreements never makes a decision less restrictive.

For random requests under every pair of shipped agreements (every triple in
`make fuzz`), whatever any one of those agreements decides on its own by a
rule — a denial, an obligation — still holds when they are all in force
together. (An agreement that merely does not permit something is not a
verdict: another agreement may permit it.) The requests carry labels set
before and after posting by every kind of setter, consent histories,
retractions and meeting segments.
"""

from __future__ import annotations

import dataclasses
import itertools

from hypothesis import given
from hypothesis import strategies as st

from discretion.engine import decide
from discretion.engine.model import Adoption, Group, Label, Request
from strategies import ADOPTABLE, FROZEN, NOW, PAIRS, POLICY, SCALE, SCHEME_OWNER, S, budget, requests

GROUPS = PAIRS if SCALE == 1 else PAIRS + list(itertools.combinations(ADOPTABLE, 3))

def _with(request: Request, agreements: list[str]) -> Request:
    group = Group(id=request.group.id, participants=request.group.participants, community=request.group.community,
                  adoptions=tuple(Adoption(a, effective_from=0) for a in agreements))
    return Request(request.action, request.actor, group, request.items, request.destination, request.requested_at,
                   request.attribution, request.format, request.derived, request.quoted_text, request.purpose)


RANK = {"allow": 0, "allow_with_obligations": 1, "deny": 2}


def _denied_by_a_rule(decision, item_id: str) -> bool:
    return any(f.item_id in (item_id, "") and f.effect == "deny" and f.reason_code != "not_permitted"
               for f in decision.findings)


@budget(600)
@given(requests(st.sampled_from(GROUPS)))
def test_stacking_never_loosens_a_decision(drawn):
    request, adopted = drawn
    together = decide(POLICY, _with(request, adopted), now=NOW)
    together_items = {i.item_id: i for i in together.items}
    together_types = {o.type for o in together.obligations}
    for agreement in adopted:
        alone = decide(POLICY, _with(request, [agreement]), now=NOW)
        for item in alone.items:
            if item.decision == "deny" and _denied_by_a_rule(alone, item.item_id):
                assert together_items[item.item_id].decision == "deny", (agreement, item, together.reason)
        if together.decision != "deny" and alone.decision != "deny":
            kept = {i.item_id for i in together.items if i.outcome != "excluded"}
            owed = {o.type for o in alone.obligations if set(o.item_ids) & kept and o.type != "exclude_items"}
            assert owed <= together_types, (agreement, owed - together_types)
        if alone.decision == "deny" and any(f.reason_code != "not_permitted" for f in alone.findings if f.effect == "deny"):
            if request.action != "export":
                assert together.decision == "deny", (agreement, alone.reason, together.reason)


OTHER_LABELS = sorted((name, value) for name, scheme in POLICY.label_schemes.items()
                      if SCHEME_OWNER[name] not in FROZEN for value in scheme.order)


@budget(400)
@given(requests(st.sampled_from([(f, a) for f in FROZEN for a in ADOPTABLE if a != f])),
       st.sampled_from(OTHER_LABELS), st.sampled_from(["", "author"]))
def test_a_freeze_on_relabelling_reaches_only_the_freezing_agreements_own_labels(drawn, label, setter):
    """Press freezes its own labels after speaking; a TLP:RED the source sets later still binds beside it."""
    request, (frozen, other) = drawn
    scheme, value = label
    item = dataclasses.replace(request.items[0], posted_at=NOW - 1000 * S,
                               labels=(Label(scheme, value, set_by=setter, set_at=NOW - 500 * S),))
    request = dataclasses.replace(request, items=(item, *request.items[1:]))
    alone = decide(POLICY, _with(request, [other]), now=NOW)
    together = decide(POLICY, _with(request, [frozen, other]), now=NOW)
    together_items = {i.item_id: i for i in together.items}
    for result in alone.items:
        if result.decision == "deny" and _denied_by_a_rule(alone, result.item_id):
            assert together_items[result.item_id].decision == "deny", (frozen, other, label, together.reason)
