"""The compiled form of a policy: what `decide()` reads, built once by the compiler.

Nothing here parses or validates: the compiler has done it. Rules are closures
indexed by (action, destination kind), so a decision looks only at the rules
that can apply to it, and only in the agreements the group adopted.
"""

from __future__ import annotations

import unicodedata

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from .model import NEW_TERMS_CONSENT, Adoption, Instant

if TYPE_CHECKING:  # the compiled form this was built from
    from .. import ir


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: int
    effective_from: Instant | None = None
    disclosed_at: Instant | None = None


@dataclass(frozen=True, slots=True)
class AgreementInfo:
    """What a group member can read about an agreement (ListAgreements)."""

    id: str
    version: int  # the latest
    title: str
    summary: str
    source: str
    platform_wide: bool
    versions: tuple[VersionInfo, ...]


@dataclass(frozen=True, slots=True)
class CompiledObligation:
    type: str
    # Builds the obligation for one item, or returns None when the request
    # would not do what the obligation guards against (e.g. no identity named).
    build: Callable
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    agreement: str
    version: int
    id: str
    effect: str  # "allow", "allow_with_obligations", "deny"
    # When true the rule protects the item's author, who may therefore waive
    # it for their own item (TLP source, Chatham House self-waiver, §7.2).
    waivable_by_author: bool
    condition: Callable  # (scope) -> bool; may raise on a missing fact
    obligations: tuple[CompiledObligation, ...]
    reason_code: str
    message: Callable  # (scope) -> str
    actions: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    # The condition's entries as (text, predicate), for explanations.
    conjuncts: tuple[tuple[str, Callable], ...] = ()
    # The label schemes the rule reads (`item.label.tlp`, `item.label_param.press.*`):
    # a label carries these rules with it into groups that did not adopt them.
    schemes: frozenset[str] = frozenset()
    # The consent scopes its condition and obligations read.
    consent_scopes: frozenset[str] = frozenset()
    # The rule as compiled (discretion.ir.Rule): what tracing builds from, and what tools that read a
    # condition as data read (the matrix); not part of what the rule is.
    compiled: "ir.Rule | None" = field(default=None, compare=False, repr=False)
    # What is built from it on first use (engine.build.traced_condition).
    cache: dict = field(default_factory=dict, compare=False, repr=False)


# Compared by identity: a version is one object for the life of a policy.
@dataclass(frozen=True, slots=True, eq=False)
class CompiledVersion:
    agreement: str
    version: int
    effective_from: Instant | None
    disclosed_at: Instant | None
    # (action, destination kind) -> the rules that can apply, in file order.
    index: Mapping[tuple[str, str], tuple[CompiledRule, ...]]
    # label scheme -> its values from least to most restrictive, with aliases
    label_schemes: Mapping[str, "LabelScheme"]
    # label scheme -> value for an item its source did not label in that scheme
    default_labels: Mapping[str, str]
    # Under press ground rules authors may not restrict after speaking (§3.1).
    authors_may_restrict_later: bool
    # label scheme -> the minimum value of every item the version governs
    label_floors: Mapping[str, str] = field(default_factory=dict)
    # When this version was published: an adoption of "the latest version"
    # follows it only from then on. None: since ever (a first version).
    published_at: Instant | None = None
    # The schemes this agreement defines whose labels an author may not
    # tighten after speaking: a freeze reaches only the agreement's own schemes.
    frozen_schemes: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return f"{self.agreement}@{self.version}"


def scheme_key(name: str) -> str:
    """A label scheme's name as it is looked up: compatibility forms folded, invisible characters and blanks gone, no case.

    ` TLP`, `ｔｌｐ` and `t\u200blp` all name `tlp`: each is unambiguous. A
    look-alike from another script (`tlр`, Cyrillic) stays itself and names
    no scheme, which denies the item (decide._refuse_uninterpreted_labels).
    """
    if name.isascii():
        return "".join(name.split()).lower()
    folded = unicodedata.normalize("NFKC", name)
    return "".join(c for c in folded if not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc")).lower()


@dataclass(frozen=True, slots=True)
class LabelScheme:
    name: str
    order: tuple[str, ...]  # least to most restrictive
    aliases: Mapping[str, str]
    # The agreement that defines the scheme: its rules judge the label in any
    # group, adopted or not (a label carries its terms).
    agreement: str = ""
    # Setters besides the source whose label counts as the source's.
    relabel_by: frozenset[str] = frozenset()

    def normalize(self, value: str) -> str:
        """The canonical value; an unknown value reads as the most restrictive (§7.3)."""
        value = value.strip().lower()
        value = self.aliases.get(value, value)
        return value if value in self.order else self.order[-1]

    def stricter(self, a: str, b: str) -> str:
        return a if self.order.index(a) >= self.order.index(b) else b


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    revision: str
    agreements: tuple[AgreementInfo, ...]
    # agreement id -> version number -> compiled version
    versions: Mapping[str, Mapping[int, CompiledVersion]]
    # the platform-wide agreements, always in force: their own dated versions
    platform_wide: tuple[str, ...]
    # group id -> adoptions, for requests that carry none (rules/bindings.yaml)
    bindings: Mapping[str, tuple[Adoption, ...]]
    # every label scheme the agreements define, by name
    label_schemes: Mapping[str, "LabelScheme"] = field(default_factory=dict)
    # every consent scope a decision may read: the rules' and `new_terms`,
    # which the engine reads for every item
    consent_scopes_read: frozenset[str] = frozenset()
    # resolved group histories by adoptions (engine/terms.py), and the
    # policy as each caller may use it (`restricted`): the mutable parts,
    # caches that live and die with this policy
    terms_cache: dict = field(default_factory=dict, compare=False, repr=False)
    views: dict = field(default_factory=dict, compare=False, repr=False)

    def restricted(self, agreements: Iterable[str], owns_group: Callable[[str], bool]) -> "CompiledPolicy":
        """The policy as one caller may use it, everything else as if it were not loaded.

        A caller reaches the agreements it is given, the platform-wide ones
        (in force for every group), those its own groups are bound to, and
        those any of these read labels of (a rule reading `item.label.tlp`
        means nothing without TLP's own terms). Outside that reach an
        adoption is refused in the words an unknown agreement gets, a label
        scheme is unknown (its labels deny the item), and ListAgreements
        shows nothing: no answer tells a caller that another's agreement
        exists, let alone what its reasons say.

        `owns_group` must hold for every group the caller may ask about: a
        bound group it does not own has no binding in the view, so the caller
        is refused such a group before deciding (the server's `auth.Gate`).
        """
        bindings = {group: adoptions for group, adoptions in self.bindings.items() if owns_group(group)}
        reach = {*agreements, *self.platform_wide, *(a.agreement for bound in bindings.values() for a in bound)}
        reach &= set(self.versions)
        pending = list(reach)
        while pending:  # the agreements whose labels the reached ones read, and theirs in turn
            for version in self.versions[pending.pop()].values():
                for name in _schemes_read(version):
                    scheme = self.label_schemes.get(name)
                    if scheme is not None and scheme.agreement not in reach and scheme.agreement in self.versions:
                        reach.add(scheme.agreement)
                        pending.append(scheme.agreement)
        versions = {agreement: v for agreement, v in self.versions.items() if agreement in reach}
        return CompiledPolicy(
            self.revision, tuple(a for a in self.agreements if a.id in reach), versions,
            tuple(a for a in self.platform_wide if a in reach), bindings,
            {name: s for name, s in self.label_schemes.items() if s.agreement in reach},
            consent_scopes_read(versions),
        )


def _schemes_read(version: CompiledVersion) -> set[str]:
    """The label schemes a version's rules, defaults, floors and freezes name."""
    names = {name for rules in version.index.values() for rule in rules for name in rule.schemes}
    names.update(version.default_labels, version.label_floors, version.frozen_schemes)
    return names


def consent_scopes_read(versions: Mapping[str, Mapping[int, CompiledVersion]]) -> frozenset[str]:
    """The scopes the compiled rules and their obligations read, and the one the engine reads itself."""
    read = {NEW_TERMS_CONSENT}
    for by_number in versions.values():
        for version in by_number.values():
            for rules in version.index.values():
                read.update(*(rule.consent_scopes for rule in rules))
    return frozenset(read)
