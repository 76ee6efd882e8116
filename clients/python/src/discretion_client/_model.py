"""The plain data a caller builds and gets back: no gRPC, no protobuf.

Request types mirror the messages of `proto/discretion/v1/policy.proto` field
for field, so the proto's comments document them as well. Enum fields take the
proto's value names in lowercase without the enum's prefix (`"ai_tool"` for
`DESTINATION_KIND_AI_TOOL`); `None` leaves the field unspecified. Values are
checked when an object is built, so a typo fails on the line that wrote it
rather than as a denial from the server.

Sequences are stored as tuples and mappings as read-only views, so a request
cannot change between being built and being sent.
"""

from __future__ import annotations

import datetime as _dt
import math
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

# The vocabularies below repeat the proto's enums so that type checkers can
# complete and check them; a test fails if they drift from the proto.
ActionName = Literal["share", "quote", "export"]
DestinationKindName = Literal[
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
]
ItemKindName = Literal["message", "attendee_list", "member_list", "transcript", "file", "image"]
FormatName = Literal["text", "screenshot", "file", "recording"]
DerivationName = Literal["verbatim", "paraphrase", "summary"]
# What the answer's spans count: code points (Python's str), UTF-16 code units
# (JavaScript, Java, C#) or UTF-8 bytes (Go, Rust).
SpanUnitName = Literal["code_point", "utf16", "utf8"]
RoleName = Literal["member", "moderator", "admin", "owner"]
# A person, or a service acting for the group (a bot or an app an admin installed).
ActorKindName = Literal["person", "service"]
PrivacyName = Literal["public", "private"]
VisibilityName = Literal["visible", "hidden"]
LegalBasisName = Literal["none", "valid_legal_process", "member_consent", "legal_requirement"]
# What the recipient will do with the content (Permissible Actions Protocol); None: not said, read as the most invasive.
UseName = Literal["passive", "lookup", "active", "resale"]
DecisionName = Literal["allow", "allow_with_obligations", "deny"]
ItemOutcomeName = Literal["kept", "redacted", "excluded"]
# Every obligation a server may ask for: one this client does not know is an
# act it cannot perform, so the answer is refused (UnexpectedAnswerError).
ObligationTypeName = Literal[
    "redact_author_identity",
    "redact_author_affiliation",
    "redact_descriptor",
    "use_agreed_descriptor",
    "redact_identifying_content",
    "redact_participant_identities",
    "exclude_items",
    "require_author_consent",
    "hold_until",
    "preserve_label",
    "add_notice",
    "add_attribution",
    "notify_affected_members",
    "encrypt_in_transit",
]
# The request fields a span may index.
SpanFieldName = Literal["quoted_text", "items.text", "attribution.descriptor"]
# A finding only explains a decision, so an effect this client does not know
# reads as "unspecified" instead of failing the call (see _convert).
EffectName = Literal["allow", "allow_with_obligations", "deny", "unspecified"]

_UINT32_MAX = 2**32 - 1


# --- checks shared by the request types ------------------------------------


def _set(obj: object, name: str, value: object) -> None:
    # Frozen dataclasses forbid normal assignment; normalising in
    # __post_init__ is the documented way around it.
    object.__setattr__(obj, name, value)


def _check_choice(obj: object, name: str, vocabulary: Any) -> None:
    value = getattr(obj, name)
    allowed = get_args(vocabulary)
    if value is not None and value not in allowed:
        raise ValueError(
            f"{type(obj).__name__}.{name}: unknown value {value!r}; "
            f"expected one of {', '.join(allowed)} (or None)"
        )


def _check_time(obj: object, name: str) -> None:
    value = getattr(obj, name)
    if value is None:
        return
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"{type(obj).__name__}.{name}: expected a datetime, got {type(value).__name__}")
    # A naive datetime means a different instant on every machine that reads it.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{type(obj).__name__}.{name}: datetime must be timezone-aware")
    try:
        value.astimezone(_dt.timezone.utc)
    except OverflowError:
        # 9999-12-31T23:00-05:00 is in year 10000 in UTC, past what a protobuf Timestamp carries.
        raise ValueError(f"{type(obj).__name__}.{name}: {value.isoformat()} falls outside the range a timestamp "
                         "carries, 0001-01-01 to 9999-12-31 in UTC") from None


def _check_uint32(obj: object, name: str) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT32_MAX:
        raise ValueError(f"{type(obj).__name__}.{name}: expected an integer from 0 to {_UINT32_MAX}")


def _check_one(obj: object, name: str, kind: type, *, optional: bool = True) -> None:
    value = getattr(obj, name)
    if value is None and optional:
        return
    if not isinstance(value, kind):
        raise TypeError(f"{type(obj).__name__}.{name}: expected {kind.__name__}, got {type(value).__name__}")


def _freeze_many(obj: object, name: str, kind: type) -> None:
    value = getattr(obj, name)
    # A lone string is iterable too; taking it as a sequence of characters
    # would silently send nonsense.
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{type(obj).__name__}.{name}: expected a sequence of {kind.__name__}")
    frozen = tuple(value)
    for index, element in enumerate(frozen):
        if not isinstance(element, kind):
            raise TypeError(
                f"{type(obj).__name__}.{name}[{index}]: expected {kind.__name__}, got {type(element).__name__}"
            )
    _set(obj, name, frozen)


def _freeze_strings(obj: object, name: str) -> None:
    value = getattr(obj, name)
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError(f"{type(obj).__name__}.{name}: expected a mapping of str to str")
    _set(obj, name, types.MappingProxyType(dict(value)))


def _check_json(path: str, value: object) -> None:
    # google.protobuf.Struct holds JSON values only; numbers travel as doubles.
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{path}: JSON numbers must be finite")
        return
    if isinstance(value, Mapping):
        for key, element in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be str, got {type(key).__name__}")
            _check_json(f"{path}.{key}", element)
        return
    if isinstance(value, (list, tuple)):
        for index, element in enumerate(value):
            _check_json(f"{path}[{index}]", element)
        return
    raise TypeError(f"{path}: {type(value).__name__} is not a JSON value")


def _empty() -> Mapping[str, Any]:
    return types.MappingProxyType({})


# --- requests ----------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A person: an author, a participant, a listed person. `id` is required for authors."""

    id: str
    display_name: str = ""
    organization: str = ""
    handles: Iterable[str] = ()
    is_minor: bool = False
    # Names no matcher can guess: nicknames, initials; the organization's acronyms, domains.
    aliases: Iterable[str] = ()
    organization_aliases: Iterable[str] = ()

    def __post_init__(self) -> None:
        _freeze_many(self, "handles", str)
        _freeze_many(self, "aliases", str)
        _freeze_many(self, "organization_aliases", str)


@dataclass(frozen=True)
class Actor:
    """Who wants to act. `member` says whether they belong to the group now.

    A service acting for the group (`kind="service"`) names the person who
    installed it (`installed_by`) and holds no role of its own; it gets the
    posts without who wrote them unless the author consented
    (`service_access`).
    """

    id: str
    display_name: str = ""
    organization: str = ""
    role: RoleName | None = None
    member: bool = False
    joined_at: _dt.datetime | None = None
    kind: ActorKindName | None = None
    installed_by: str = ""

    def __post_init__(self) -> None:
        _check_choice(self, "role", RoleName)
        _check_time(self, "joined_at")
        _check_choice(self, "kind", ActorKindName)
        _check_one(self, "installed_by", str, optional=False)


@dataclass(frozen=True)
class Adoption:
    """One adoption of an agreement version by a group; version 0 means the latest published at each instant."""

    agreement: str
    version: int = 0
    effective_from: _dt.datetime | None = None
    disclosed_at: _dt.datetime | None = None
    replaces: Iterable[str] = ()
    # Meeting segments the adoption governs ("or part thereof"); empty: all.
    segments: Iterable[str] = ()
    # The group's label per scheme for items their source did not label, e.g. {"tlp": "amber"}.
    default_labels: Mapping[str, str] = field(default_factory=_empty)
    # The group's minimum label per scheme for every item.
    label_floors: Mapping[str, str] = field(default_factory=_empty)

    def __post_init__(self) -> None:
        _check_uint32(self, "version")
        _check_time(self, "effective_from")
        _check_time(self, "disclosed_at")
        _freeze_many(self, "replaces", str)
        _freeze_many(self, "segments", str)
        _freeze_strings(self, "default_labels")
        _freeze_strings(self, "label_floors")


@dataclass(frozen=True)
class Group:
    """The group the items were posted in, with its agreement history and roster."""

    id: str
    privacy: PrivacyName | None = None
    visibility: VisibilityName | None = None
    adoptions: Iterable[Adoption] = ()
    participants: Iterable[Person] = ()
    community: Iterable[str] = ()
    # When a private group became public.
    converted_at: _dt.datetime | None = None

    def __post_init__(self) -> None:
        _check_time(self, "converted_at")
        _check_choice(self, "privacy", PrivacyName)
        _check_choice(self, "visibility", VisibilityName)
        _freeze_many(self, "adoptions", Adoption)
        _freeze_many(self, "participants", Person)
        _freeze_many(self, "community", str)


@dataclass(frozen=True)
class Label:
    """A label on an item, e.g. `Label("tlp", "amber+strict")`."""

    scheme: str
    value: str
    set_by: str = ""
    set_at: _dt.datetime | None = None
    params: Mapping[str, str] = field(default_factory=_empty)

    def __post_init__(self) -> None:
        _check_time(self, "set_at")
        _freeze_strings(self, "params")


@dataclass(frozen=True)
class Consent:
    """A consent given (or, once withdrawn, refused) by `by` for `scope`."""

    by: str
    scope: str
    recipients: Iterable[str] = ()
    granted_at: _dt.datetime | None = None
    withdrawn_at: _dt.datetime | None = None
    # Your id for the consent, to name the quotes that rest on it (recheck_quotes); never read by a rule.
    id: str = ""

    def __post_init__(self) -> None:
        _freeze_many(self, "recipients", str)
        _check_time(self, "granted_at")
        _check_time(self, "withdrawn_at")


@dataclass(frozen=True)
class Session:
    """The meeting or talk an item comes from."""

    id: str = ""
    segment: str = ""
    speaker_count: int = 0

    def __post_init__(self) -> None:
        _check_uint32(self, "speaker_count")


@dataclass(frozen=True)
class Item:
    """One posted item. Its `text` is never logged by the service."""

    id: str
    author: Person | None = None
    posted_at: _dt.datetime | None = None
    retracted_at: _dt.datetime | None = None
    labels: Iterable[Label] = ()
    consents: Iterable[Consent] = ()
    text: str = ""
    kind: ItemKindName | None = None
    listed_people: Iterable[Person] = ()
    session: Session | None = None
    exchange_participants: Iterable[str] = ()
    conversation: str = ""
    link: str = ""

    def __post_init__(self) -> None:
        _check_one(self, "author", Person)
        _check_time(self, "posted_at")
        _check_time(self, "retracted_at")
        _freeze_many(self, "labels", Label)
        _freeze_many(self, "consents", Consent)
        _check_choice(self, "kind", ItemKindName)
        _freeze_many(self, "listed_people", Person)
        _check_one(self, "session", Session)
        _freeze_many(self, "exchange_participants", str)


@dataclass(frozen=True)
class Recipient:
    """Someone the items would reach."""

    id: str = ""
    organization: str = ""


@dataclass(frozen=True)
class Service:
    """A service or AI tool that would receive the items, and what it may do with them.

    `None` means "not known": rules that protect people read it as the worse
    case, so say `False` when the provider has committed to it.
    """

    name: str = ""
    organization: str = ""
    new_controller: bool | None = None
    may_train: bool | None = None
    retains: bool | None = None


@dataclass(frozen=True)
class Destination:
    """Where the items would go; `kind` is required."""

    kind: DestinationKindName
    channel: str = ""
    recipients: Iterable[Recipient] = ()
    group_id: str = ""
    publicly_accessible: bool = False
    service: Service | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            raise ValueError("Destination.kind: required")
        _check_choice(self, "kind", DestinationKindName)
        _freeze_many(self, "recipients", Recipient)
        _check_one(self, "service", Service)


@dataclass(frozen=True)
class Attribution:
    """The attribution the actor intends to publish with the content."""

    author_identity: bool = False
    affiliation: bool = False
    descriptor: str = ""
    link: bool = False


@dataclass(frozen=True)
class Purpose:
    """Why the actor acts; attested by the caller, not verified by the service."""

    need_to_know: bool = False
    legal_basis: LegalBasisName | None = None
    notification_prohibited: bool = False
    use: UseName | None = None

    def __post_init__(self) -> None:
        _check_choice(self, "legal_basis", LegalBasisName)
        _check_choice(self, "use", UseName)


@dataclass(frozen=True, kw_only=True)
class CheckRequest:
    """One question: may `actor` do `action` with `items` of `group` towards `destination`?

    `requested_at` unset means the server's clock at receipt. `attributes`
    holds JSON values that custom agreements read as `attributes.*`.
    """

    action: ActionName
    actor: Actor
    group: Group
    items: Iterable[Item]
    destination: Destination
    attribution: Attribution | None = None
    format: FormatName | None = None
    derived: DerivationName | None = None
    quoted_text: str = ""
    purpose: Purpose | None = None
    attributes: Mapping[str, Any] = field(default_factory=_empty)
    requested_at: _dt.datetime | None = None
    explain: bool = False
    span_unit: SpanUnitName | None = None
    # Your own correlation facts (a route, a job id), recorded on the decision's log line and never read by a rule.
    request_context: Mapping[str, str] = field(default_factory=_empty)

    def __post_init__(self) -> None:
        if self.action is None:
            raise ValueError("CheckRequest.action: required")
        _check_choice(self, "action", ActionName)
        _check_one(self, "actor", Actor, optional=False)
        _check_one(self, "group", Group, optional=False)
        _freeze_many(self, "items", Item)
        _check_one(self, "destination", Destination, optional=False)
        _check_one(self, "attribution", Attribution)
        _check_choice(self, "format", FormatName)
        _check_choice(self, "derived", DerivationName)
        _check_choice(self, "span_unit", SpanUnitName)
        _check_one(self, "purpose", Purpose)
        if not isinstance(self.attributes, Mapping):
            raise TypeError("CheckRequest.attributes: expected a mapping")
        _check_json("CheckRequest.attributes", self.attributes)
        _set(self, "attributes", types.MappingProxyType(dict(self.attributes)))
        _check_time(self, "requested_at")


# --- results -------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A half-open range [start, end) of one field, counted in the request's `span_unit`.

    `field` is `quoted_text`, `attribution.descriptor` or `items.text`; for
    `items.text`, `item_id` names the item whose text it indexes.
    """

    start: int
    end: int
    reveals: str
    field: SpanFieldName
    item_id: str = ""


@dataclass(frozen=True)
class Obligation:
    """Something the caller must do before proceeding; which fields matter depends on `type`."""

    type: ObligationTypeName
    item_ids: tuple[str, ...]
    person_ids: tuple[str, ...]
    spans: tuple[Span, ...]
    names: tuple[str, ...]
    scope: str
    until: _dt.datetime | None
    label: str
    notice: str
    descriptor: str
    link: str


@dataclass(frozen=True)
class ItemResult:
    """How one item came out, and which agreement versions governed it."""

    item_id: str
    outcome: ItemOutcomeName
    decision: DecisionName
    governed_by: tuple[str, ...]


@dataclass(frozen=True)
class Finding:
    """Why an item came out as it did: `reason_code` for programs, `message` for people."""

    agreement: str
    version: int
    rule: str
    item_id: str
    effect: EffectName
    reason_code: str
    message: str


@dataclass(frozen=True)
class Decision:
    """The answer to one CheckRequest.

    `decision` is "allow", "allow_with_obligations" or "deny". Only "allow"
    lets the caller proceed as asked; "allow_with_obligations" lets it proceed
    only after fulfilling every entry of `obligations`.
    """

    decision: DecisionName
    obligations: tuple[Obligation, ...]
    items: tuple[ItemResult, ...]
    findings: tuple[Finding, ...]
    reason: str
    policy_revision: str
    explanation: tuple[str, ...]
    # This decision's own id: the server's decision-log line for it has the same.
    decision_id: str = ""

    @property
    def allowed(self) -> bool:
        """True only for "allow": obligations are never treated as already met."""
        return self.decision == "allow"


@dataclass(frozen=True)
class AgreementVersion:
    """One version of a loaded agreement and when it took effect and was disclosed."""

    version: int
    effective_from: _dt.datetime | None
    disclosed_at: _dt.datetime | None


@dataclass(frozen=True)
class AgreementInfo:
    """A loaded agreement; `version` is its latest version."""

    id: str
    version: int
    title: str
    summary: str
    source: str
    platform_wide: bool
    versions: tuple[AgreementVersion, ...]


@dataclass(frozen=True)
class Quoter:
    """Who would quote a post: an id you know them by, and whether they are a member of the group (your fact)."""

    id: str = ""
    member: bool = False


QuoteApprovalName = Literal["automatic", "manual", "nobody"]


@dataclass(frozen=True)
class InteractionPolicy:
    """Who may natively quote one post by the group's agreement, and each platform's control for it.

    `approval`: "automatic" (anyone), "manual" (the author approves each quote;
    `consent_scope` is what they give) or "nobody" but the author (until
    `ask_again_at`, when set). `quote` is the decision it rests on; where nobody
    may quote, `text_share` says whether the text may go without its author's
    name. `can_quote` is ActivityPub's `interactionPolicy.canQuote`
    (`automaticApproval`, `manualApproval`), `quote_approval_policy` and
    `current_user` Mastodon's, `postgate` a Bluesky `app.bsky.feed.postgate`
    record.
    """

    approval: QuoteApprovalName
    consent_scope: str
    ask_again_at: _dt.datetime | None
    quote: Decision
    text_share: Decision | None
    can_quote: Mapping[str, tuple[str, ...]]
    quote_approval_policy: str
    current_user: str
    postgate: Mapping[str, Any]
    decision_id: str = ""


QuoteAnswerName = Literal["accept", "reject", "pending"]


@dataclass(frozen=True)
class QuoteRequestAnswer:
    """The answer to an ActivityPub QuoteRequest: "accept" or "reject" (send `activity`; a reject of an activity
    without an id has none), or "pending" (the author approves each quote: ask them, `consent_scope`). `quote` is
    the decision it rests on, None when the activity could not be read; `ask_again_at`, when the answer may
    change (an embargo lifts, the terms change): ask again then, and withdraw an authorization it refuses."""

    answer: QuoteAnswerName
    activity: Mapping[str, Any] | None
    consent_scope: str
    reason: str
    quote: Decision | None
    ask_again_at: _dt.datetime | None = None
    decision_id: str = ""


@dataclass(frozen=True)
class IssuedQuote:
    """A quote you authorized: its QuoteAuthorization's id (or, for Bluesky alone, the embedding post's at-uri), the
    id of the consent it rests on ("" for a quote anyone could make) and the at-uri of a Bluesky post embedding the
    quoted one, if any."""

    authorization_id: str
    consent_id: str = ""
    embedding_uri: str = ""


@dataclass(frozen=True)
class DetachedQuote:
    """A quote to detach now, why, and the ActivityPub `Delete` of its authorization (None for Bluesky alone)."""

    authorization_id: str
    consent_id: str
    reason: str
    delete: Mapping[str, Any] | None


@dataclass(frozen=True)
class QuoteRecheck:
    """The quotes to detach, and a Bluesky postgate detaching their embeddings (None without a post_uri)."""

    detach: tuple[DetachedQuote, ...]
    postgate: Mapping[str, Any] | None
    decision_id: str = ""
