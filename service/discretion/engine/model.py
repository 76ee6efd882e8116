"""The facts of a request and the shape of a decision (domain notes §8, §7.4).

Plain slotted dataclasses: the server converts wire messages into these, the
CLI builds them from YAML, and rules read them through fact paths such as
`item.author.organization`. Instants are integers of nanoseconds since the
POSIX epoch: exact at the wire's resolution (a float of seconds merges instants
a few hundred nanoseconds apart), and the hot path compares numbers, never
parses. `None` means "not given".

The type hints are the fact catalogue: the compiler walks them to check every
path a rule names, so a field added here is at once a fact rules may use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NewType

Instant = NewType("Instant", int)

ACTIONS = ("share", "quote", "export")
DESTINATION_KINDS = (
    "same_group",
    "original_exchange_participant",
    "actor_org_internal",
    "actor_org_client",
    "community_peer",
    "external_individual",
    "public",
    "personal_archive",
    "third_party_service",
    "ai_tool",
    "other_group",
)
ITEM_KINDS = ("message", "attendee_list", "member_list", "transcript", "file", "image")
# The kinds whose words are their author's alone: only these may the author
# release by being the actor (§7.2). A transcript, a list, a file or an image
# carries other people's words, names or faces, which the author cannot waive.
AUTHORED_KINDS = frozenset({"message"})
# Who may have set a label. Empty (or `author`) is the item's source; `admin`
# and `platform` are the group's and the platform's authorities; any other
# value is an unknown setter. Only the source's labels (and those of setters a
# scheme names in `relabel_by`) may lower a value; everyone else only tightens.
SOURCE_SETTERS = frozenset({"", "author"})
FORMATS = ("text", "screenshot", "file", "recording")
DERIVATIONS = ("verbatim", "paraphrase", "summary")
ROLES = ("member", "moderator", "admin", "owner")
# Who acts: a person, or a service acting for the group (a bot or an app an
# admin installed), which reads the group's posts but not who wrote them
# unless the author allows it (domain notes §4.1).
ACTOR_KINDS = ("person", "service")
PRIVACIES = ("public", "private")
VISIBILITIES = ("visible", "hidden")
SPAN_UNITS = ("code_point", "utf16", "utf8")
LEGAL_BASES = ("none", "valid_legal_process", "member_consent", "legal_requirement")
# What the recipient will do with the content (the Permissible Actions Protocol); "" when not said, which rules
# read as the most invasive (they allow a use only when it is named).
USES = ("passive", "lookup", "active", "resale")
DECISIONS = ("allow", "allow_with_obligations", "deny")
# What a person may permit for an item: the `scope` of a Consent, and what it
# lets happen. Rules name these (`author_consented: attribution`); the compiler
# rejects any other, so a consent recorded under another name is read by nothing.
CONSENT_SCOPES: dict[str, str] = {
    "attribution": "be named as the author of a quote or share",
    "share_outside": "the item may leave the group",
    "share_beyond_label": "the source's explicit permission to go beyond the item's TLP label",
    "listing": "be named in an attendee or member list",
    "new_terms": "the author lets the group's newer, looser terms govern their older item",
    "export": "the item may go into an export of the group's content",
    "ai_processing": "the item may be given to an AI tool",
    "service_access": "a service acting for the group may see that the item is theirs",
}
# Read by the engine itself for every item, whatever the rules say: a loosening
# of the group's terms reaches an older item only with this consent (§6.2.3).
NEW_TERMS_CONSENT = "new_terms"

# Closed vocabularies by fact path: the compiler rejects a rule comparing one
# of these facts with a value outside its vocabulary (a typo would otherwise
# make a condition that can never hold).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "action": ACTIONS,
    "destination.kind": DESTINATION_KINDS,
    "item.kind": ITEM_KINDS,
    "format": FORMATS,
    "derived": DERIVATIONS,
    "actor.role": ROLES,
    "actor.kind": ACTOR_KINDS,
    "group.privacy": PRIVACIES,
    "group.visibility": VISIBILITIES,
    "purpose.legal_basis": LEGAL_BASES,
    "purpose.use": USES,
    "span_unit": SPAN_UNITS,
}


@dataclass(slots=True)
class Person:
    id: str = ""
    display_name: str = ""
    organization: str = ""
    handles: tuple[str, ...] = ()
    is_minor: bool = False
    # Other names the platform knows the person by (nicknames, initials), and
    # their organization's (acronyms, domains): words no matcher can guess.
    aliases: tuple[str, ...] = ()
    organization_aliases: tuple[str, ...] = ()


@dataclass(slots=True)
class Actor:
    id: str = ""
    display_name: str = ""
    organization: str = ""
    role: str = "member"
    member: bool = False
    joined_at: Instant | None = None
    kind: str = "person"  # one of ACTOR_KINDS
    installed_by: str = ""  # for a service: the person who installed it


@dataclass(slots=True)
class Adoption:
    agreement: str
    version: int = 0  # 0: the latest version published at the instant the terms govern
    effective_from: Instant | None = None
    disclosed_at: Instant | None = None
    replaces: tuple[str, ...] = ()
    # "When a meeting, or part thereof, is held under the Rule": the adoption
    # governs only items from these meeting segments; empty means all items.
    segments: tuple[str, ...] = ()
    # The group's label per scheme (e.g. `tlp: amber`) for an item whose
    # source did not label it in that scheme; an explicit label stands.
    default_labels: dict[str, str] = field(default_factory=dict)
    # The group's minimum label per scheme, for every item the adoption
    # governs: an item's own label can only raise it.
    label_floors: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Group:
    id: str = ""
    privacy: str = "private"
    visibility: str = "visible"
    adoptions: tuple[Adoption, ...] = ()
    participants: tuple[Person, ...] = ()
    community: tuple[str, ...] = ()
    # When a private group became public: what was said before stays with
    # those who were members then (§6.2.6).
    converted_at: Instant | None = None


@dataclass(slots=True)
class Label:
    scheme: str
    value: str
    set_by: str = ""
    set_at: Instant | None = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Consent:
    by: str
    scope: str
    recipients: tuple[str, ...] = ()
    granted_at: Instant | None = None
    withdrawn_at: Instant | None = None
    id: str = ""  # the platform's, to name what rests on the consent; never read by a rule


@dataclass(slots=True)
class Session:
    id: str = ""
    segment: str = ""
    speaker_count: int = 0


@dataclass(slots=True)
class Item:
    id: str
    author: Person = field(default_factory=Person)
    posted_at: Instant | None = None
    retracted_at: Instant | None = None
    labels: tuple[Label, ...] = ()
    consents: tuple[Consent, ...] = ()
    text: str = ""
    kind: str = "message"
    listed_people: tuple[Person, ...] = ()
    session: Session = field(default_factory=Session)
    exchange_participants: tuple[str, ...] = ()
    conversation: str = ""
    link: str = ""


@dataclass(slots=True)
class Recipient:
    id: str = ""
    organization: str = ""


@dataclass(slots=True)
class Service:
    """A service or AI tool receiving content. `None` means the platform did not
    say, and every rule reads it as yes (compile/facts.py): the worse case."""

    name: str = ""
    organization: str = ""
    new_controller: bool | None = None
    may_train: bool | None = None
    retains: bool | None = None


@dataclass(slots=True)
class Destination:
    kind: str = ""
    channel: str = ""
    recipients: tuple[Recipient, ...] = ()
    group_id: str = ""
    publicly_accessible: bool = False
    service: Service = field(default_factory=Service)


@dataclass(slots=True)
class Attribution:
    author_identity: bool = False
    affiliation: bool = False
    descriptor: str = ""
    link: bool = False


@dataclass(slots=True)
class Purpose:
    need_to_know: bool = False
    legal_basis: str = "none"
    notification_prohibited: bool = False
    use: str = ""  # one of USES, "" when the caller did not say


@dataclass(slots=True)
class Request:
    """One question: may `actor` do `action` with `items` toward `destination`?

    `action` and `destination.kind` are kept as given: an unknown value is not
    an error of form but a request the policy does not know, which is denied.
    """

    action: str
    actor: Actor
    group: Group
    items: tuple[Item, ...]
    destination: Destination
    requested_at: Instant | None = None
    attribution: Attribution = field(default_factory=Attribution)
    format: str = "text"
    derived: str = "verbatim"
    quoted_text: str = ""
    purpose: Purpose = field(default_factory=Purpose)
    attributes: dict[str, Any] = field(default_factory=dict)
    # What the answer's spans count: code points, or the UTF-16 code units
    # (JavaScript, Java, C#) or UTF-8 bytes (Go, Rust) the caller indexes by.
    span_unit: str = "code_point"


# ---- the answer -------------------------------------------------------------
# Treated as immutable, but not `frozen`: a frozen dataclass sets each field
# through object.__setattr__, which made building the answer a third of the
# cost of a small decision. Span stays frozen: it is hashed when spans merge.


# The fields whose words reach the destination, which a Span may point into.
# `items.text` is the text of the item the span's `item_id` names.
SPAN_FIELDS = ("quoted_text", "items.text", "attribution.descriptor")


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    reveals: str  # "name", "handle", "organization"
    field: str = ""  # one of SPAN_FIELDS
    item_id: str = ""  # for `items.text`: the item whose text it indexes


@dataclass(slots=True)
class Obligation:
    """One thing the caller must do before proceeding (domain notes §7.4)."""

    type: str
    item_ids: tuple[str, ...] = ()
    person_ids: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()
    names: tuple[str, ...] = ()
    scope: str = ""
    until: Instant | None = None
    label: str = ""
    notice: str = ""
    descriptor: str = ""
    link: str = ""


@dataclass(slots=True)
class Finding:
    """A rule that decided something about an item, and why."""

    agreement: str
    version: int
    rule: str
    item_id: str
    effect: str  # one of DECISIONS
    reason_code: str
    message: str

    @property
    def rule_key(self) -> str:
        """`agreement@version/rule`, or empty for a refusal of the engine's own (no rule decided it)."""
        return rule_key(self.agreement, self.version, self.rule) if self.rule else ""


def rule_key(agreement: str, version: int, rule: str) -> str:
    """How a rule is named wherever a person or a log reads it: `agreement@version/rule`."""
    return f"{agreement}@{version}/{rule}"


@dataclass(slots=True)
class ItemResult:
    item_id: str
    outcome: str  # "kept", "redacted", "excluded"
    decision: str
    governed_by: tuple[str, ...]


@dataclass(slots=True)
class Decision:
    decision: str
    obligations: tuple[Obligation, ...]
    items: tuple[ItemResult, ...]
    findings: tuple[Finding, ...]
    reason: str
    policy_revision: str
    # With a tracer: what the engine did (engine.trace events), and the lines
    # of it a person reads (the API's explanation).
    explanation: tuple[str, ...] = ()
    trace: tuple[Any, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"
