"""Which agreement versions govern an item: the terms in force when it was said (§6).

A version governs from the moment it is both effective and disclosed to
members. An adoption that replaces another agreement ends it only from the
moment the replacement governs, so terms announced late leave no gap. The
platform-wide agreements date their own versions and are always in force.
"""

from __future__ import annotations

import math

from .compiled import CompiledPolicy, CompiledVersion
from .model import Adoption

VersionSet = tuple[CompiledVersion, ...]


def _start(effective_from: float | None, disclosed_at: float | None) -> float:
    effective = effective_from if effective_from is not None else -math.inf
    disclosed = disclosed_at if disclosed_at is not None else effective
    return max(effective, disclosed)


class Terms:
    """The agreement history of one group, resolved against one policy."""

    __slots__ = ("_policy", "_adoptions", "_cache")

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
        self._cache: dict[float, VersionSet] = {}

    def _version(self, adoption: Adoption) -> CompiledVersion:
        versions = self._policy.versions[adoption.agreement]
        return versions[adoption.version] if adoption.version else versions[max(versions)]

    def at(self, instant: float) -> VersionSet:
        """The versions governing at `instant`: the group's adoptions and the platform's own."""
        cached = self._cache.get(instant)
        if cached is not None:
            return cached
        governing: dict[str, tuple[float, Adoption, CompiledVersion]] = {}
        for start, adoption, version in self._adoptions:
            if start <= instant:
                current = governing.get(adoption.agreement)
                if current is None or start >= current[0]:
                    governing[adoption.agreement] = (start, adoption, version)
        ended = {
            replaced
            for start, adoption, _ in governing.values()
            for replaced in adoption.replaces
            if replaced in governing and governing[replaced][0] <= start
        }
        result = tuple(v for agreement, (_, _, v) in governing.items() if agreement not in ended)
        result += tuple(self._platform_version(agreement, instant) for agreement in self._policy.platform_wide)
        self._cache[instant] = result
        return result

    def _platform_version(self, agreement: str, instant: float) -> CompiledVersion:
        versions = list(self._policy.versions[agreement].values())
        in_force = [v for v in versions if _start(v.effective_from, v.disclosed_at) <= instant]
        # Before its first version the platform's rules are the earliest ones:
        # there is no time without a baseline.
        return in_force[-1] if in_force else versions[0]

    def ever(self) -> list[VersionSet]:
        """Every set of versions that has governed the group: for items of unknown date (§6.2.4)."""
        instants = {start for start, _, _ in self._adoptions}
        for agreement in self._policy.platform_wide:
            instants.update(_start(v.effective_from, v.disclosed_at) for v in self._policy.versions[agreement].values())
        sets = {self.at(i) for i in instants if i != -math.inf}
        if not sets or any(i == -math.inf for i in instants):
            sets.add(self.at(-math.inf))
        return sorted(sets, key=lambda s: tuple(v.key for v in s))
