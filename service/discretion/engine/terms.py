"""Which agreement versions govern an item: the terms in force when it was said (§6).

A version governs from the moment it is both effective and disclosed to
members. An adoption that replaces another agreement ends it only from the
moment the replacement governs, so terms announced late leave no gap. An
adoption limited to meeting segments governs only items from them ("or part
thereof"). The platform-wide agreements date their own versions and are always
in force.
"""

from __future__ import annotations

import bisect
import math

from .compiled import CompiledPolicy, CompiledVersion
from .model import Adoption, Instant


def _start(effective_from: Instant | None, disclosed_at: Instant | None) -> Instant | float:
    # -inf (a float) is "in force since ever"; it compares exactly with any instant.
    effective = effective_from if effective_from is not None else -math.inf
    disclosed = disclosed_at if disclosed_at is not None else effective
    return max(effective, disclosed)


class Governing:
    """The versions governing an item at one instant, and the label floors they set."""

    __slots__ = ("versions", "default_labels", "keys")

    def __init__(self, versions: tuple[CompiledVersion, ...], default_labels: dict[str, str]):
        self.versions = versions
        self.default_labels = default_labels
        self.keys = tuple(v.key for v in versions)

    def same_terms(self, other: "Governing") -> bool:
        return self is other or (self.versions == other.versions and self.default_labels == other.default_labels)


_TERMS_CACHE_SIZE = 4096


def terms_for(policy: CompiledPolicy, adoptions: tuple[Adoption, ...]) -> "Terms":
    """The resolved history of a group, shared by every request that carries the same adoptions.

    Groups send their adoptions with every request; resolving them is the
    larger part of a small decision, and the answer depends only on the
    adoptions and the policy, so it is kept per policy (a new policy starts a
    new cache). Bounded: cleared when full.
    """
    key = tuple(
        (a.agreement, a.version, a.effective_from, a.disclosed_at, a.replaces, a.segments,
         tuple(sorted(a.default_labels.items())) if a.default_labels else ())
        for a in adoptions
    )
    cache = policy.terms_cache
    terms = cache.get(key)
    if terms is None:
        if len(cache) >= _TERMS_CACHE_SIZE:
            cache.clear()
        terms = cache[key] = Terms(policy, adoptions)
    return terms


class Terms:
    """The agreement history of one group, resolved against one policy."""

    __slots__ = ("_policy", "_adoptions", "_cache", "_changes")

    def __init__(self, policy: CompiledPolicy, adoptions: tuple[Adoption, ...]):
        self._policy = policy
        # Adopting a platform-wide agreement adds nothing: it is in force
        # anyway, on its own dates. Such an adoption only says "the group is
        # known and has no terms of its own".
        self._adoptions = [
            (_start(a.effective_from, a.disclosed_at), a, self._version(a))
            for a in adoptions
            if a.agreement not in policy.platform_wide
        ]
        # The instants at which the terms change: between two of them every
        # instant has the same terms, so results are kept per interval.
        changes = {start for start, _, _ in self._adoptions}
        for agreement in policy.platform_wide:
            changes.update(_start(v.effective_from, v.disclosed_at) for v in policy.versions[agreement].values())
        self._changes = sorted(changes)
        self._cache: dict[tuple[int, str], Governing] = {}

    def _version(self, adoption: Adoption) -> CompiledVersion:
        versions = self._policy.versions[adoption.agreement]
        return versions[adoption.version] if adoption.version else versions[max(versions)]

    def at(self, instant: Instant | float, segment: str = "") -> Governing:
        """The terms governing at `instant` an item from meeting `segment`."""
        key = (bisect.bisect_right(self._changes, instant), segment)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        governing: dict[str, tuple[Instant | float, Adoption, CompiledVersion]] = {}
        for start, adoption, version in self._adoptions:
            if start > instant or (adoption.segments and segment not in adoption.segments):
                continue
            current = governing.get(adoption.agreement)
            if current is None or start >= current[0]:
                governing[adoption.agreement] = (start, adoption, version)
        ended = {
            replaced
            for start, adoption, _ in governing.values()
            for replaced in adoption.replaces
            if replaced in governing and governing[replaced][0] <= start
        }
        chosen = [(a, v) for agreement, (_, a, v) in governing.items() if agreement not in ended]
        versions = tuple(v for _, v in chosen)
        versions += tuple(self._platform_version(agreement, instant) for agreement in self._policy.platform_wide)
        result = Governing(versions, self._defaults(versions, [a for a, _ in chosen]))
        self._cache[key] = result
        return result

    def _defaults(self, versions: tuple[CompiledVersion, ...], adoptions: list[Adoption]) -> dict[str, str]:
        """Each scheme's floor: the most restrictive default of the versions and adoptions in force."""
        defaults: dict[str, str] = {}
        schemes = self._policy.label_schemes
        pairs = [p for v in versions for p in v.default_labels.items()]
        pairs += [(name.lower(), value) for a in adoptions for name, value in a.default_labels.items()]
        for name, value in pairs:
            scheme = schemes.get(name)
            if scheme is None:
                continue  # a floor in a scheme nobody defines cannot be ordered; ignored
            value = scheme.normalize(value)
            defaults[name] = scheme.stricter(value, defaults[name]) if name in defaults else value
        return defaults

    def _platform_version(self, agreement: str, instant: Instant | float) -> CompiledVersion:
        versions = list(self._policy.versions[agreement].values())
        in_force = [v for v in versions if _start(v.effective_from, v.disclosed_at) <= instant]
        # Before its first version the platform's rules are the earliest ones:
        # there is no time without a baseline.
        return in_force[-1] if in_force else versions[0]

    def ever(self, segment: str = "") -> list[Governing]:
        """Every set of terms that has governed the group: for items of unknown date (§6.2.4)."""
        instants = {start for start, _, _ in self._adoptions}
        for agreement in self._policy.platform_wide:
            instants.update(_start(v.effective_from, v.disclosed_at) for v in self._policy.versions[agreement].values())
        instants.discard(-math.inf)
        candidates = [self.at(i, segment) for i in sorted(instants)] or [self.at(-math.inf, segment)]
        unique: list[Governing] = []
        for governing in candidates:
            if not any(governing.same_terms(u) for u in unique):
                unique.append(governing)
        return unique
