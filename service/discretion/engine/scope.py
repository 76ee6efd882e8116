"""What a rule sees while it is evaluated: the request's facts, for one item.

Compiled fact getters are `operator.attrgetter`s over this object, so a fact
path such as `item.author.organization` costs one C-level lookup chain.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from .model import Actor, Attribution, Destination, Group, Instant, Item, Purpose, Request


class Scope:
    __slots__ = (
        "request", "action", "actor", "group", "item", "destination", "attribution", "format",
        "derived", "quoted_text", "purpose", "attributes", "requested_at", "label", "label_param", "vars",
        "acting_person", "actor_is_author", "memo", "outcomes",
    )

    def __init__(self, request: Request, item: Item, requested_at: Instant, label: dict[str, str],
                 label_param: dict[str, dict] | None = None, memo: dict | None = None):
        self.request = request
        self.action: str = request.action
        self.actor: Actor = request.actor
        self.group: Group = request.group
        self.item: Item = item
        self.destination: Destination = request.destination
        self.attribution: Attribution = request.attribution
        self.format: str = request.format
        self.derived: str = request.derived
        self.quoted_text: str = request.quoted_text
        self.purpose: Purpose = request.purpose
        self.attributes: dict[str, Any] = request.attributes
        self.requested_at: Instant = requested_at
        # The item's effective label per scheme (most restrictive wins).
        self.label: dict[str, str] = label
        # The parameters of the label that set each effective value.
        self.label_param: dict[str, dict] = label_param or {}
        # Elements bound by quantifiers (`some: {of: …, as: it}`).
        self.vars: dict[str, Any] = {}
        # The person acting, who may release their own words and give their
        # own name; a service acting for the group is nobody's self, whatever
        # id it was given.
        self.acting_person: str = "" if request.actor.kind == "service" else request.actor.id
        self.actor_is_author: bool = bool(item.author.id) and item.author.id == self.acting_person
        # What is the same for every item of one decision (`once_per_request`):
        # one dict per call of decide(), shared by its items' scopes.
        self.memo: dict = {} if memo is None else memo
        # (entry place, held) of a traced condition's entries (engine.build.traced_condition),
        # a list while a decision is traced.
        self.outcomes: list | None = None


T = TypeVar("T")


def once_per_request(scope: Scope, key: Any, compute: Callable[[], T]) -> T:
    """`compute()` once per decision, request and `key`: what every item of a request would work out again.

    A condition over the group's participants asked for each item of a
    1,000-item export over 10,000 people, a quote of 100,000 characters
    searched for names beside each of 1,000 items: each once, now. Kept in
    the decision's own memo (one call of decide(), one thread), for each
    request it judges (as asked, and as a publication), never beyond it.
    """
    request = scope.request
    slot = (key, id(request))
    found = scope.memo.get(slot)
    if found is not None and found[0] is request:  # the request is held, so its id is not reused
        return found[1]
    value = compute()
    scope.memo[slot] = (request, value)
    return value
