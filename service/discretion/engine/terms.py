"""Which agreement versions govern an item: the terms in force when it was said (§6).

A version governs from the moment it is both effective and disclosed to
members. An adoption that replaces another agreement ends it only from the
moment the replacement governs, so terms announced late leave no gap. Several
adoptions of one agreement from the same instant all govern (the stricter
outcome wins). An adoption of "the latest version" (0) follows, at each
instant, the latest version published by then, never one published later. An
adoption limited to meeting segments governs only items from them ("or part
thereof"); an item whose segment is not given may be from any of them, so it
is judged under each segment's terms (decide.py). The platform-wide agreements
date their own versions and are always in force.

A group's central binding (rules/bindings.yaml) is the floor of its terms: a
request's own adoptions stack on it and can neither replace nor end it.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from typing import Iterable, NamedTuple

from .compiled import CompiledPolicy, CompiledVersion, scheme_key
from .model import Adoption, Instant
from .names import fold

# "In force since ever": a float, which compares exactly with any instant (an int of nanoseconds).
SINCE_EVER = -math.inf
# An instant, or SINCE_EVER.
Moment = Instant | float


def _start(effective_from: Instant | None, disclosed_at: Instant | None) -> Moment:
    effective = effective_from if effective_from is not None else SINCE_EVER
    disclosed = disclosed_at if disclosed_at is not None else effective
    return max(effective, disclosed)


# Segment names compare as people read them (names.fold).
segment_key = fold


# ---- adoptions that cannot be read ------------------------------------------


class AdoptionProblem(NamedTuple):
    index: int  # of the adoption at fault
    code: str
    message: str


def adoption_problems(adoptions: Iterable[Adoption]) -> list[AdoptionProblem]:
    """Adoptions whose `replaces` cannot mean anything but "no terms at all": refused, never guessed.

    An adoption that replaces its own agreement would end itself the moment it
    starts; adoptions that replace each other from the same instant would end
    each other. Replacements at different instants are a history, not a cycle.
    """
    adoptions = list(adoptions)
    problems = [
        AdoptionProblem(index, "adoption_replaces_itself",
                        f"the adoption of `{a.agreement}` replaces `{a.agreement}` itself, which would end it as it starts")
        for index, a in enumerate(adoptions) if a.agreement in a.replaces
    ]
    by_start: dict[Moment, list[int]] = defaultdict(list)
    for index, a in enumerate(adoptions):
        by_start[_start(a.effective_from, a.disclosed_at)].append(index)
    for indexes in by_start.values():
        edges: dict[str, set[str]] = defaultdict(set)
        for index in indexes:
            edges[adoptions[index].agreement].update(r for r in adoptions[index].replaces if r != adoptions[index].agreement)
        cycle = _cycle(edges)
        if cycle:
            first = next(i for i in indexes if adoptions[i].agreement in cycle)
            names = ", ".join(f"`{name}`" for name in cycle)
            problems.append(AdoptionProblem(first, "adoptions_replace_each_other",
                                            f"the adoptions of {names} replace each other from the same instant, "
                                            "which would end them all; say which one ends the other"))
    return problems


def _cycle(edges: dict[str, set[str]]) -> list[str]:
    """The agreements of one replacement cycle, or [] (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):]
            if nxt not in state:
                found = visit(nxt, path)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return []


# ---- the terms at an instant -------------------------------------------------


class Governing:
    """The versions governing an item at one instant, and the labels they set."""

    __slots__ = ("versions", "default_labels", "label_floors", "frozen", "keys")

    def __init__(self, versions: tuple[CompiledVersion, ...], default_labels: dict[str, str],
                 label_floors: dict[str, str]):
        self.versions = versions
        self.default_labels = default_labels
        self.label_floors = label_floors
        # Schemes whose labels the source may not tighten after speaking.
        self.frozen = frozenset().union(*(v.frozen_schemes for v in versions))
        self.keys = tuple(v.key for v in versions)

    def same_terms(self, other: "Governing") -> bool:
        return self is other or (self.versions == other.versions and self.default_labels == other.default_labels
                                 and self.label_floors == other.label_floors)


_TERMS_CACHE_SIZE = 4096


def _key(adoptions: tuple[Adoption, ...]) -> tuple:
    return tuple(
        (a.agreement, a.version, a.effective_from, a.disclosed_at, a.replaces, a.segments,
         tuple(sorted(a.default_labels.items())) if a.default_labels else (),
         tuple(sorted(a.label_floors.items())) if a.label_floors else ())
        for a in adoptions
    )


class Refusal(NamedTuple):
    """Adoptions the policy cannot read: denied with a finding naming the field, never guessed."""

    code: str
    field: str
    message: str


def terms_for(policy: CompiledPolicy, bound: tuple[Adoption, ...],
              requested: tuple[Adoption, ...]) -> "Terms | Refusal":
    """The resolved history of a group, shared by every request that carries the same adoptions.

    `bound` is the group's central binding (checked when it compiled),
    `requested` the request's own adoptions, checked here. Checking and
    resolving them is the larger part of a small decision, and the answer
    depends only on the adoptions and the policy, so it is kept per policy (a
    new policy starts a new cache). Bounded: cleared when full.
    """
    key = (_key(bound), _key(requested))
    cache = policy.terms_cache
    terms = cache.get(key)
    if terms is None:
        if len(cache) >= _TERMS_CACHE_SIZE:
            cache.clear()
        terms = cache[key] = _refusal(policy, requested) or Terms(policy, bound, requested)
    return terms


def _refusal(policy: CompiledPolicy, adoptions: tuple[Adoption, ...]) -> Refusal | None:
    for index, adoption in enumerate(adoptions):
        versions = policy.versions.get(adoption.agreement)
        if versions is None:
            return Refusal("unknown_agreement", f"group.adoptions[{index}].agreement",
                           f"the agreement `{adoption.agreement}` is not loaded")
        if adoption.agreement in policy.platform_wide:
            for name in ("label_floors", "default_labels", "segments", "replaces"):
                if getattr(adoption, name):
                    return Refusal("terms_on_platform_agreement", f"group.adoptions[{index}].{name}",
                                   f"`{adoption.agreement}` is in force on its own dates for every group, so an "
                                   f"adoption of it cannot carry `{name}`; put them on the group's own adoption")
        if adoption.version and adoption.version not in versions:
            return Refusal("unknown_agreement_version", f"group.adoptions[{index}].version",
                           f"`{adoption.agreement}` has no version {adoption.version}")
        for kind in ("default_labels", "label_floors"):
            for scheme in getattr(adoption, kind):
                if scheme_key(scheme) not in policy.label_schemes:
                    return Refusal("unknown_label_scheme", f"group.adoptions[{index}].{kind}",
                                   f"the label scheme `{scheme}` is defined by no loaded agreement, so its labels cannot be read")
        if any(not segment_key(s) for s in adoption.segments):
            return Refusal("blank_segment", f"group.adoptions[{index}].segments",
                           "a blank segment name governs no item anyone can name; list the segments by name")
    for problem in adoption_problems(adoptions):
        return Refusal(problem.code, f"group.adoptions[{problem.index}].replaces", problem.message)
    return None


class _Adopted(NamedTuple):
    start: Moment
    adoption: Adoption
    segments: frozenset[str]  # normalized; empty: every segment


class Terms:
    """The agreement history of one group, resolved against one policy."""

    __slots__ = ("_policy", "_pools", "_cache", "_changes", "segments", "_named")

    def __init__(self, policy: CompiledPolicy, bound: tuple[Adoption, ...], requested: tuple[Adoption, ...] = ()):
        self._policy = policy
        # Adopting a platform-wide agreement adds nothing: it is in force
        # anyway, on its own dates. Such an adoption only says "the group is
        # known and has no terms of its own". The binding and the request are
        # resolved apart, so that nothing the request says ends the binding.
        self._pools = tuple(
            [_Adopted(_start(a.effective_from, a.disclosed_at), a, frozenset(map(segment_key, a.segments)))
             for a in pool if a.agreement not in policy.platform_wide]
            for pool in (bound, requested)
        )
        # The instants at which the terms change: between two of them every
        # instant has the same terms, so results are kept per interval.
        changes = {SINCE_EVER}
        for pool in self._pools:
            for adopted in pool:
                changes.add(adopted.start)
                changes.update(v.published_at for v in policy.versions[adopted.adoption.agreement].values()
                               if v.published_at is not None)
        for agreement in policy.platform_wide:
            changes.update(_start(v.effective_from, v.disclosed_at) for v in policy.versions[agreement].values())
        self._changes = sorted(changes)
        self._cache: dict[tuple[int, str], Governing] = {}
        # Every segment an adoption names, normalized.
        self.segments: tuple[str, ...] = tuple(sorted({s for pool in self._pools for a in pool for s in a.segments}))
        self._named = frozenset(self.segments)

    def _version(self, adoption: Adoption, instant: Moment) -> CompiledVersion:
        versions = self._policy.versions[adoption.agreement]
        if adoption.version:
            return versions[adoption.version]
        # "The latest" is the latest published at the instant the terms
        # govern: a version published later never reaches back.
        published = [v for v in versions.values() if (v.published_at if v.published_at is not None else SINCE_EVER) <= instant]
        return published[-1] if published else next(iter(versions.values()))

    def at(self, instant: Moment, segment: str = "") -> Governing:
        """The terms governing at `instant` an item from meeting `segment` ("": from none an adoption names)."""
        segment = segment_key(segment)
        if segment not in self._named:
            # A segment no adoption names has the terms of none: one entry for
            # all of them, or a caller's segment names would grow this without end.
            segment = ""
        key = (bisect.bisect_right(self._changes, instant), segment)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        chosen = [pair for pool in self._pools for pair in self._in_force(pool, instant, segment)]
        versions = tuple(dict.fromkeys(v for _, v in chosen))
        versions += tuple(self._platform_version(agreement, instant) for agreement in self._policy.platform_wide)
        adoptions = [a for a, _ in chosen]
        result = Governing(versions, self._labels(versions, adoptions, "default_labels"),
                           self._labels(versions, adoptions, "label_floors"))
        self._cache[key] = result
        return result

    def _in_force(self, pool: list[_Adopted], instant: Moment, segment: str) -> list[tuple[Adoption, CompiledVersion]]:
        applicable = [a for a in pool if a.start <= instant and (not a.segments or segment in a.segments)]
        latest: dict[str, Moment] = {}
        for adopted in applicable:
            agreement = adopted.adoption.agreement
            latest[agreement] = max(latest.get(agreement, SINCE_EVER), adopted.start)
        # Every adoption of an agreement from its latest start governs: two
        # versions adopted at one instant both hold, and the stricter wins.
        current = [a for a in applicable if a.start == latest[a.adoption.agreement]]
        ended = {
            replaced
            for adopted in current
            for replaced in adopted.adoption.replaces
            # Only what started before: an agreement adopted and replaced at
            # one instant is odd, and both govern (the stricter wins).
            if replaced in latest and latest[replaced] < adopted.start
        }
        return [(a.adoption, self._version(a.adoption, instant)) for a in current if a.adoption.agreement not in ended]

    def _labels(self, versions: tuple[CompiledVersion, ...], adoptions: list[Adoption], kind: str) -> dict[str, str]:
        """Per scheme, the most restrictive of the values (defaults or floors) of the versions and adoptions in force."""
        result: dict[str, str] = {}
        schemes = self._policy.label_schemes
        pairs = [p for v in versions for p in getattr(v, kind).items()]
        pairs += [(scheme_key(name), value) for a in adoptions for name, value in getattr(a, kind).items()]
        for name, value in pairs:
            scheme = schemes.get(name)
            if scheme is None:
                continue  # a request naming a scheme nobody defines is refused before this (decide.py)
            value = scheme.normalize(value)
            result[name] = scheme.stricter(value, result[name]) if name in result else value
        return result

    def _platform_version(self, agreement: str, instant: Moment) -> CompiledVersion:
        versions = list(self._policy.versions[agreement].values())
        in_force = [v for v in versions if _start(v.effective_from, v.disclosed_at) <= instant]
        # Before its first version the platform's rules are the earliest ones:
        # there is no time without a baseline.
        return in_force[-1] if in_force else versions[0]

    def ever(self, segment: str = "") -> list[Governing]:
        """Every set of terms that has governed the group, from its first adoption on: for items of unknown date (§6.2.4).

        The first terms count even when they carry no start date; the time
        before a group adopted anything is not terms it had.
        """
        starts = [adopted.start for pool in self._pools for adopted in pool]
        first = min(starts) if starts else SINCE_EVER
        unique: list[Governing] = []
        for instant in self._changes:
            if instant < first:
                continue
            governing = self.at(instant, segment)
            if not any(governing.same_terms(u) for u in unique):
                unique.append(governing)
        return unique

    def last_change(self, after: Moment, until: Instant) -> Moment | None:
        """The latest instant in (after, until] at which the terms may have changed, or None."""
        index = bisect.bisect_right(self._changes, until)
        if index and self._changes[index - 1] > after:
            return self._changes[index - 1]
        return None
