import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_SHARE: _ClassVar[Action]
    ACTION_QUOTE: _ClassVar[Action]
    ACTION_EXPORT: _ClassVar[Action]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_ALLOW: _ClassVar[Decision]
    DECISION_ALLOW_WITH_OBLIGATIONS: _ClassVar[Decision]
    DECISION_DENY: _ClassVar[Decision]

class DestinationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DESTINATION_KIND_UNSPECIFIED: _ClassVar[DestinationKind]
    DESTINATION_KIND_SAME_GROUP: _ClassVar[DestinationKind]
    DESTINATION_KIND_ORIGINAL_EXCHANGE_PARTICIPANT: _ClassVar[DestinationKind]
    DESTINATION_KIND_ACTOR_ORG_INTERNAL: _ClassVar[DestinationKind]
    DESTINATION_KIND_ACTOR_ORG_CLIENT: _ClassVar[DestinationKind]
    DESTINATION_KIND_COMMUNITY_PEER: _ClassVar[DestinationKind]
    DESTINATION_KIND_EXTERNAL_INDIVIDUAL: _ClassVar[DestinationKind]
    DESTINATION_KIND_PUBLIC: _ClassVar[DestinationKind]
    DESTINATION_KIND_PERSONAL_ARCHIVE: _ClassVar[DestinationKind]
    DESTINATION_KIND_THIRD_PARTY_SERVICE: _ClassVar[DestinationKind]
    DESTINATION_KIND_AI_TOOL: _ClassVar[DestinationKind]
    DESTINATION_KIND_OTHER_GROUP: _ClassVar[DestinationKind]

class ItemKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ITEM_KIND_UNSPECIFIED: _ClassVar[ItemKind]
    ITEM_KIND_MESSAGE: _ClassVar[ItemKind]
    ITEM_KIND_ATTENDEE_LIST: _ClassVar[ItemKind]
    ITEM_KIND_MEMBER_LIST: _ClassVar[ItemKind]
    ITEM_KIND_TRANSCRIPT: _ClassVar[ItemKind]
    ITEM_KIND_FILE: _ClassVar[ItemKind]
    ITEM_KIND_IMAGE: _ClassVar[ItemKind]

class Format(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FORMAT_UNSPECIFIED: _ClassVar[Format]
    FORMAT_TEXT: _ClassVar[Format]
    FORMAT_SCREENSHOT: _ClassVar[Format]
    FORMAT_FILE: _ClassVar[Format]
    FORMAT_RECORDING: _ClassVar[Format]

class Derivation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DERIVATION_UNSPECIFIED: _ClassVar[Derivation]
    DERIVATION_VERBATIM: _ClassVar[Derivation]
    DERIVATION_PARAPHRASE: _ClassVar[Derivation]
    DERIVATION_SUMMARY: _ClassVar[Derivation]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_MEMBER: _ClassVar[Role]
    ROLE_MODERATOR: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]
    ROLE_OWNER: _ClassVar[Role]

class Privacy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIVACY_UNSPECIFIED: _ClassVar[Privacy]
    PRIVACY_PUBLIC: _ClassVar[Privacy]
    PRIVACY_PRIVATE: _ClassVar[Privacy]

class Visibility(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VISIBILITY_UNSPECIFIED: _ClassVar[Visibility]
    VISIBILITY_VISIBLE: _ClassVar[Visibility]
    VISIBILITY_HIDDEN: _ClassVar[Visibility]

class LegalBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEGAL_BASIS_UNSPECIFIED: _ClassVar[LegalBasis]
    LEGAL_BASIS_NONE: _ClassVar[LegalBasis]
    LEGAL_BASIS_VALID_LEGAL_PROCESS: _ClassVar[LegalBasis]
    LEGAL_BASIS_MEMBER_CONSENT: _ClassVar[LegalBasis]
    LEGAL_BASIS_LEGAL_REQUIREMENT: _ClassVar[LegalBasis]

class Use(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USE_UNSPECIFIED: _ClassVar[Use]
    USE_PASSIVE: _ClassVar[Use]
    USE_LOOKUP: _ClassVar[Use]
    USE_ACTIVE: _ClassVar[Use]
    USE_RESALE: _ClassVar[Use]

class ActorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTOR_KIND_UNSPECIFIED: _ClassVar[ActorKind]
    ACTOR_KIND_PERSON: _ClassVar[ActorKind]
    ACTOR_KIND_SERVICE: _ClassVar[ActorKind]

class SpanUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPAN_UNIT_UNSPECIFIED: _ClassVar[SpanUnit]
    SPAN_UNIT_CODE_POINT: _ClassVar[SpanUnit]
    SPAN_UNIT_UTF16: _ClassVar[SpanUnit]
    SPAN_UNIT_UTF8: _ClassVar[SpanUnit]

class ItemOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ITEM_OUTCOME_UNSPECIFIED: _ClassVar[ItemOutcome]
    ITEM_OUTCOME_KEPT: _ClassVar[ItemOutcome]
    ITEM_OUTCOME_REDACTED: _ClassVar[ItemOutcome]
    ITEM_OUTCOME_EXCLUDED: _ClassVar[ItemOutcome]

class Effect(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EFFECT_UNSPECIFIED: _ClassVar[Effect]
    EFFECT_ALLOW: _ClassVar[Effect]
    EFFECT_ALLOW_WITH_OBLIGATIONS: _ClassVar[Effect]
    EFFECT_DENY: _ClassVar[Effect]

class QuoteApproval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUOTE_APPROVAL_UNSPECIFIED: _ClassVar[QuoteApproval]
    QUOTE_APPROVAL_AUTOMATIC: _ClassVar[QuoteApproval]
    QUOTE_APPROVAL_MANUAL: _ClassVar[QuoteApproval]
    QUOTE_APPROVAL_NOBODY: _ClassVar[QuoteApproval]

class QuoteAnswer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUOTE_ANSWER_UNSPECIFIED: _ClassVar[QuoteAnswer]
    QUOTE_ANSWER_ACCEPT: _ClassVar[QuoteAnswer]
    QUOTE_ANSWER_REJECT: _ClassVar[QuoteAnswer]
    QUOTE_ANSWER_PENDING: _ClassVar[QuoteAnswer]
ACTION_UNSPECIFIED: Action
ACTION_SHARE: Action
ACTION_QUOTE: Action
ACTION_EXPORT: Action
DECISION_UNSPECIFIED: Decision
DECISION_ALLOW: Decision
DECISION_ALLOW_WITH_OBLIGATIONS: Decision
DECISION_DENY: Decision
DESTINATION_KIND_UNSPECIFIED: DestinationKind
DESTINATION_KIND_SAME_GROUP: DestinationKind
DESTINATION_KIND_ORIGINAL_EXCHANGE_PARTICIPANT: DestinationKind
DESTINATION_KIND_ACTOR_ORG_INTERNAL: DestinationKind
DESTINATION_KIND_ACTOR_ORG_CLIENT: DestinationKind
DESTINATION_KIND_COMMUNITY_PEER: DestinationKind
DESTINATION_KIND_EXTERNAL_INDIVIDUAL: DestinationKind
DESTINATION_KIND_PUBLIC: DestinationKind
DESTINATION_KIND_PERSONAL_ARCHIVE: DestinationKind
DESTINATION_KIND_THIRD_PARTY_SERVICE: DestinationKind
DESTINATION_KIND_AI_TOOL: DestinationKind
DESTINATION_KIND_OTHER_GROUP: DestinationKind
ITEM_KIND_UNSPECIFIED: ItemKind
ITEM_KIND_MESSAGE: ItemKind
ITEM_KIND_ATTENDEE_LIST: ItemKind
ITEM_KIND_MEMBER_LIST: ItemKind
ITEM_KIND_TRANSCRIPT: ItemKind
ITEM_KIND_FILE: ItemKind
ITEM_KIND_IMAGE: ItemKind
FORMAT_UNSPECIFIED: Format
FORMAT_TEXT: Format
FORMAT_SCREENSHOT: Format
FORMAT_FILE: Format
FORMAT_RECORDING: Format
DERIVATION_UNSPECIFIED: Derivation
DERIVATION_VERBATIM: Derivation
DERIVATION_PARAPHRASE: Derivation
DERIVATION_SUMMARY: Derivation
ROLE_UNSPECIFIED: Role
ROLE_MEMBER: Role
ROLE_MODERATOR: Role
ROLE_ADMIN: Role
ROLE_OWNER: Role
PRIVACY_UNSPECIFIED: Privacy
PRIVACY_PUBLIC: Privacy
PRIVACY_PRIVATE: Privacy
VISIBILITY_UNSPECIFIED: Visibility
VISIBILITY_VISIBLE: Visibility
VISIBILITY_HIDDEN: Visibility
LEGAL_BASIS_UNSPECIFIED: LegalBasis
LEGAL_BASIS_NONE: LegalBasis
LEGAL_BASIS_VALID_LEGAL_PROCESS: LegalBasis
LEGAL_BASIS_MEMBER_CONSENT: LegalBasis
LEGAL_BASIS_LEGAL_REQUIREMENT: LegalBasis
USE_UNSPECIFIED: Use
USE_PASSIVE: Use
USE_LOOKUP: Use
USE_ACTIVE: Use
USE_RESALE: Use
ACTOR_KIND_UNSPECIFIED: ActorKind
ACTOR_KIND_PERSON: ActorKind
ACTOR_KIND_SERVICE: ActorKind
SPAN_UNIT_UNSPECIFIED: SpanUnit
SPAN_UNIT_CODE_POINT: SpanUnit
SPAN_UNIT_UTF16: SpanUnit
SPAN_UNIT_UTF8: SpanUnit
ITEM_OUTCOME_UNSPECIFIED: ItemOutcome
ITEM_OUTCOME_KEPT: ItemOutcome
ITEM_OUTCOME_REDACTED: ItemOutcome
ITEM_OUTCOME_EXCLUDED: ItemOutcome
EFFECT_UNSPECIFIED: Effect
EFFECT_ALLOW: Effect
EFFECT_ALLOW_WITH_OBLIGATIONS: Effect
EFFECT_DENY: Effect
QUOTE_APPROVAL_UNSPECIFIED: QuoteApproval
QUOTE_APPROVAL_AUTOMATIC: QuoteApproval
QUOTE_APPROVAL_MANUAL: QuoteApproval
QUOTE_APPROVAL_NOBODY: QuoteApproval
QUOTE_ANSWER_UNSPECIFIED: QuoteAnswer
QUOTE_ANSWER_ACCEPT: QuoteAnswer
QUOTE_ANSWER_REJECT: QuoteAnswer
QUOTE_ANSWER_PENDING: QuoteAnswer

class Person(_message.Message):
    __slots__ = ("id", "display_name", "organization", "handles", "is_minor", "aliases", "organization_aliases")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    HANDLES_FIELD_NUMBER: _ClassVar[int]
    IS_MINOR_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ALIASES_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    organization: str
    handles: _containers.RepeatedScalarFieldContainer[str]
    is_minor: bool
    aliases: _containers.RepeatedScalarFieldContainer[str]
    organization_aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., organization: _Optional[str] = ..., handles: _Optional[_Iterable[str]] = ..., is_minor: _Optional[bool] = ..., aliases: _Optional[_Iterable[str]] = ..., organization_aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class Actor(_message.Message):
    __slots__ = ("id", "display_name", "organization", "role", "member", "joined_at", "kind", "installed_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    JOINED_AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    organization: str
    role: Role
    member: bool
    joined_at: _timestamp_pb2.Timestamp
    kind: ActorKind
    installed_by: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., organization: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., member: _Optional[bool] = ..., joined_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[ActorKind, str]] = ..., installed_by: _Optional[str] = ...) -> None: ...

class Adoption(_message.Message):
    __slots__ = ("agreement", "version", "effective_from", "disclosed_at", "replaces", "segments", "default_labels", "label_floors")
    class DefaultLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelFloorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    DISCLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLACES_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_LABELS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FLOORS_FIELD_NUMBER: _ClassVar[int]
    agreement: str
    version: int
    effective_from: _timestamp_pb2.Timestamp
    disclosed_at: _timestamp_pb2.Timestamp
    replaces: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedScalarFieldContainer[str]
    default_labels: _containers.ScalarMap[str, str]
    label_floors: _containers.ScalarMap[str, str]
    def __init__(self, agreement: _Optional[str] = ..., version: _Optional[int] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., disclosed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replaces: _Optional[_Iterable[str]] = ..., segments: _Optional[_Iterable[str]] = ..., default_labels: _Optional[_Mapping[str, str]] = ..., label_floors: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("id", "privacy", "visibility", "adoptions", "participants", "community", "converted_at", "roster_digest")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    ADOPTIONS_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    COMMUNITY_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_AT_FIELD_NUMBER: _ClassVar[int]
    ROSTER_DIGEST_FIELD_NUMBER: _ClassVar[int]
    id: str
    privacy: Privacy
    visibility: Visibility
    adoptions: _containers.RepeatedCompositeFieldContainer[Adoption]
    participants: _containers.RepeatedCompositeFieldContainer[Person]
    community: _containers.RepeatedScalarFieldContainer[str]
    converted_at: _timestamp_pb2.Timestamp
    roster_digest: str
    def __init__(self, id: _Optional[str] = ..., privacy: _Optional[_Union[Privacy, str]] = ..., visibility: _Optional[_Union[Visibility, str]] = ..., adoptions: _Optional[_Iterable[_Union[Adoption, _Mapping]]] = ..., participants: _Optional[_Iterable[_Union[Person, _Mapping]]] = ..., community: _Optional[_Iterable[str]] = ..., converted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., roster_digest: _Optional[str] = ...) -> None: ...

class Roster(_message.Message):
    __slots__ = ("participants",)
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    participants: _containers.RepeatedCompositeFieldContainer[Person]
    def __init__(self, participants: _Optional[_Iterable[_Union[Person, _Mapping]]] = ...) -> None: ...

class Label(_message.Message):
    __slots__ = ("scheme", "value", "set_by", "set_at", "params")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SET_BY_FIELD_NUMBER: _ClassVar[int]
    SET_AT_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    scheme: str
    value: str
    set_by: str
    set_at: _timestamp_pb2.Timestamp
    params: _containers.ScalarMap[str, str]
    def __init__(self, scheme: _Optional[str] = ..., value: _Optional[str] = ..., set_by: _Optional[str] = ..., set_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("by", "scope", "recipients", "granted_at", "withdrawn_at", "id")
    BY_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    by: str
    scope: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    granted_at: _timestamp_pb2.Timestamp
    withdrawn_at: _timestamp_pb2.Timestamp
    id: str
    def __init__(self, by: _Optional[str] = ..., scope: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., granted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., withdrawn_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., id: _Optional[str] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "segment", "speaker_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    segment: str
    speaker_count: int
    def __init__(self, id: _Optional[str] = ..., segment: _Optional[str] = ..., speaker_count: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("id", "author", "posted_at", "retracted_at", "labels", "consents", "text", "kind", "listed_people", "session", "exchange_participants", "conversation", "link")
    ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    POSTED_AT_FIELD_NUMBER: _ClassVar[int]
    RETRACTED_AT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LISTED_PEOPLE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    id: str
    author: Person
    posted_at: _timestamp_pb2.Timestamp
    retracted_at: _timestamp_pb2.Timestamp
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    consents: _containers.RepeatedCompositeFieldContainer[Consent]
    text: str
    kind: ItemKind
    listed_people: _containers.RepeatedCompositeFieldContainer[Person]
    session: Session
    exchange_participants: _containers.RepeatedScalarFieldContainer[str]
    conversation: str
    link: str
    def __init__(self, id: _Optional[str] = ..., author: _Optional[_Union[Person, _Mapping]] = ..., posted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retracted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ..., consents: _Optional[_Iterable[_Union[Consent, _Mapping]]] = ..., text: _Optional[str] = ..., kind: _Optional[_Union[ItemKind, str]] = ..., listed_people: _Optional[_Iterable[_Union[Person, _Mapping]]] = ..., session: _Optional[_Union[Session, _Mapping]] = ..., exchange_participants: _Optional[_Iterable[str]] = ..., conversation: _Optional[str] = ..., link: _Optional[str] = ...) -> None: ...

class Recipient(_message.Message):
    __slots__ = ("id", "organization")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    id: str
    organization: str
    def __init__(self, id: _Optional[str] = ..., organization: _Optional[str] = ...) -> None: ...

class Destination(_message.Message):
    __slots__ = ("kind", "channel", "recipients", "group_id", "publicly_accessible", "service")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLICLY_ACCESSIBLE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    kind: DestinationKind
    channel: str
    recipients: _containers.RepeatedCompositeFieldContainer[Recipient]
    group_id: str
    publicly_accessible: bool
    service: Service
    def __init__(self, kind: _Optional[_Union[DestinationKind, str]] = ..., channel: _Optional[str] = ..., recipients: _Optional[_Iterable[_Union[Recipient, _Mapping]]] = ..., group_id: _Optional[str] = ..., publicly_accessible: _Optional[bool] = ..., service: _Optional[_Union[Service, _Mapping]] = ...) -> None: ...

class Service(_message.Message):
    __slots__ = ("name", "organization", "new_controller", "may_train", "retains")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    NEW_CONTROLLER_FIELD_NUMBER: _ClassVar[int]
    MAY_TRAIN_FIELD_NUMBER: _ClassVar[int]
    RETAINS_FIELD_NUMBER: _ClassVar[int]
    name: str
    organization: str
    new_controller: bool
    may_train: bool
    retains: bool
    def __init__(self, name: _Optional[str] = ..., organization: _Optional[str] = ..., new_controller: _Optional[bool] = ..., may_train: _Optional[bool] = ..., retains: _Optional[bool] = ...) -> None: ...

class Attribution(_message.Message):
    __slots__ = ("author_identity", "affiliation", "descriptor", "link")
    AUTHOR_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    AFFILIATION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTOR_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    author_identity: bool
    affiliation: bool
    descriptor: str
    link: bool
    def __init__(self, author_identity: _Optional[bool] = ..., affiliation: _Optional[bool] = ..., descriptor: _Optional[str] = ..., link: _Optional[bool] = ...) -> None: ...

class Purpose(_message.Message):
    __slots__ = ("need_to_know", "legal_basis", "notification_prohibited", "use")
    NEED_TO_KNOW_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_PROHIBITED_FIELD_NUMBER: _ClassVar[int]
    USE_FIELD_NUMBER: _ClassVar[int]
    need_to_know: bool
    legal_basis: LegalBasis
    notification_prohibited: bool
    use: Use
    def __init__(self, need_to_know: _Optional[bool] = ..., legal_basis: _Optional[_Union[LegalBasis, str]] = ..., notification_prohibited: _Optional[bool] = ..., use: _Optional[_Union[Use, str]] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("action", "requested_at", "actor", "group", "items", "destination", "attribution", "format", "derived", "quoted_text", "purpose", "attributes", "explain", "span_unit", "request_context")
    class RequestContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DERIVED_FIELD_NUMBER: _ClassVar[int]
    QUOTED_TEXT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    SPAN_UNIT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    action: Action
    requested_at: _timestamp_pb2.Timestamp
    actor: Actor
    group: Group
    items: _containers.RepeatedCompositeFieldContainer[Item]
    destination: Destination
    attribution: Attribution
    format: Format
    derived: Derivation
    quoted_text: str
    purpose: Purpose
    attributes: _struct_pb2.Struct
    explain: bool
    span_unit: SpanUnit
    request_context: _containers.ScalarMap[str, str]
    def __init__(self, action: _Optional[_Union[Action, str]] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[_Union[Actor, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ..., items: _Optional[_Iterable[_Union[Item, _Mapping]]] = ..., destination: _Optional[_Union[Destination, _Mapping]] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ..., format: _Optional[_Union[Format, str]] = ..., derived: _Optional[_Union[Derivation, str]] = ..., quoted_text: _Optional[str] = ..., purpose: _Optional[_Union[Purpose, _Mapping]] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., explain: _Optional[bool] = ..., span_unit: _Optional[_Union[SpanUnit, str]] = ..., request_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Obligation(_message.Message):
    __slots__ = ("type", "item_ids", "person_ids", "spans", "names", "scope", "until", "label", "notice", "descriptor", "link")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTOR_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    type: str
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    person_ids: _containers.RepeatedScalarFieldContainer[str]
    spans: _containers.RepeatedCompositeFieldContainer[Span]
    names: _containers.RepeatedScalarFieldContainer[str]
    scope: str
    until: _timestamp_pb2.Timestamp
    label: str
    notice: str
    descriptor: str
    link: str
    def __init__(self, type: _Optional[str] = ..., item_ids: _Optional[_Iterable[str]] = ..., person_ids: _Optional[_Iterable[str]] = ..., spans: _Optional[_Iterable[_Union[Span, _Mapping]]] = ..., names: _Optional[_Iterable[str]] = ..., scope: _Optional[str] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., label: _Optional[str] = ..., notice: _Optional[str] = ..., descriptor: _Optional[str] = ..., link: _Optional[str] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("start", "end", "reveals", "field", "item_id")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    REVEALS_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    reveals: str
    field: str
    item_id: str
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., reveals: _Optional[str] = ..., field: _Optional[str] = ..., item_id: _Optional[str] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("agreement", "version", "rule", "item_id", "effect", "reason_code", "message")
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    agreement: str
    version: int
    rule: str
    item_id: str
    effect: Effect
    reason_code: str
    message: str
    def __init__(self, agreement: _Optional[str] = ..., version: _Optional[int] = ..., rule: _Optional[str] = ..., item_id: _Optional[str] = ..., effect: _Optional[_Union[Effect, str]] = ..., reason_code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ItemResult(_message.Message):
    __slots__ = ("item_id", "outcome", "decision", "governed_by")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    GOVERNED_BY_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    outcome: ItemOutcome
    decision: Decision
    governed_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, item_id: _Optional[str] = ..., outcome: _Optional[_Union[ItemOutcome, str]] = ..., decision: _Optional[_Union[Decision, str]] = ..., governed_by: _Optional[_Iterable[str]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("decision", "obligations", "items", "findings", "reason", "policy_revision", "explanation", "decision_id")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    OBLIGATIONS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    obligations: _containers.RepeatedCompositeFieldContainer[Obligation]
    items: _containers.RepeatedCompositeFieldContainer[ItemResult]
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    reason: str
    policy_revision: str
    explanation: _containers.RepeatedScalarFieldContainer[str]
    decision_id: str
    def __init__(self, decision: _Optional[_Union[Decision, str]] = ..., obligations: _Optional[_Iterable[_Union[Obligation, _Mapping]]] = ..., items: _Optional[_Iterable[_Union[ItemResult, _Mapping]]] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., reason: _Optional[str] = ..., policy_revision: _Optional[str] = ..., explanation: _Optional[_Iterable[str]] = ..., decision_id: _Optional[str] = ...) -> None: ...

class CheckBatchRequest(_message.Message):
    __slots__ = ("checks",)
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[CheckRequest]
    def __init__(self, checks: _Optional[_Iterable[_Union[CheckRequest, _Mapping]]] = ...) -> None: ...

class CheckBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CheckResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[CheckResponse, _Mapping]]] = ...) -> None: ...

class ListAgreementsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgreementVersion(_message.Message):
    __slots__ = ("version", "effective_from", "disclosed_at")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    DISCLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    version: int
    effective_from: _timestamp_pb2.Timestamp
    disclosed_at: _timestamp_pb2.Timestamp
    def __init__(self, version: _Optional[int] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., disclosed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgreementInfo(_message.Message):
    __slots__ = ("id", "version", "title", "summary", "source", "versions", "platform_wide")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_WIDE_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    title: str
    summary: str
    source: str
    versions: _containers.RepeatedCompositeFieldContainer[AgreementVersion]
    platform_wide: bool
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., title: _Optional[str] = ..., summary: _Optional[str] = ..., source: _Optional[str] = ..., versions: _Optional[_Iterable[_Union[AgreementVersion, _Mapping]]] = ..., platform_wide: _Optional[bool] = ...) -> None: ...

class ListAgreementsResponse(_message.Message):
    __slots__ = ("agreements", "policy_revision")
    AGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
    agreements: _containers.RepeatedCompositeFieldContainer[AgreementInfo]
    policy_revision: str
    def __init__(self, agreements: _Optional[_Iterable[_Union[AgreementInfo, _Mapping]]] = ..., policy_revision: _Optional[str] = ...) -> None: ...

class GetPolicyStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPolicyStatusResponse(_message.Message):
    __slots__ = ("policy_revision", "loaded_at", "last_attempt_at", "last_error")
    POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    policy_revision: str
    loaded_at: _timestamp_pb2.Timestamp
    last_attempt_at: _timestamp_pb2.Timestamp
    last_error: _containers.RepeatedCompositeFieldContainer[Diagnostic]
    def __init__(self, policy_revision: _Optional[str] = ..., loaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[_Iterable[_Union[Diagnostic, _Mapping]]] = ...) -> None: ...

class Diagnostic(_message.Message):
    __slots__ = ("code", "severity", "message", "file", "line", "column", "rule", "help")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    HELP_FIELD_NUMBER: _ClassVar[int]
    code: str
    severity: str
    message: str
    file: str
    line: int
    column: int
    rule: str
    help: str
    def __init__(self, code: _Optional[str] = ..., severity: _Optional[str] = ..., message: _Optional[str] = ..., file: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ..., rule: _Optional[str] = ..., help: _Optional[str] = ...) -> None: ...

class GetInteractionPolicyRequest(_message.Message):
    __slots__ = ("requested_at", "group", "item", "quoter", "author_uri", "post_uri", "request_context")
    class RequestContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    QUOTER_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_URI_FIELD_NUMBER: _ClassVar[int]
    POST_URI_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    requested_at: _timestamp_pb2.Timestamp
    group: Group
    item: Item
    quoter: Quoter
    author_uri: str
    post_uri: str
    request_context: _containers.ScalarMap[str, str]
    def __init__(self, requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ..., item: _Optional[_Union[Item, _Mapping]] = ..., quoter: _Optional[_Union[Quoter, _Mapping]] = ..., author_uri: _Optional[str] = ..., post_uri: _Optional[str] = ..., request_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Quoter(_message.Message):
    __slots__ = ("id", "member")
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    id: str
    member: bool
    def __init__(self, id: _Optional[str] = ..., member: _Optional[bool] = ...) -> None: ...

class GetInteractionPolicyResponse(_message.Message):
    __slots__ = ("approval", "consent_scope", "ask_again_at", "quote", "text_share", "can_quote", "quote_approval_policy", "current_user", "postgate", "decision_id")
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    CONSENT_SCOPE_FIELD_NUMBER: _ClassVar[int]
    ASK_AGAIN_AT_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    TEXT_SHARE_FIELD_NUMBER: _ClassVar[int]
    CAN_QUOTE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_APPROVAL_POLICY_FIELD_NUMBER: _ClassVar[int]
    CURRENT_USER_FIELD_NUMBER: _ClassVar[int]
    POSTGATE_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    approval: QuoteApproval
    consent_scope: str
    ask_again_at: _timestamp_pb2.Timestamp
    quote: CheckResponse
    text_share: CheckResponse
    can_quote: QuotePolicyLists
    quote_approval_policy: str
    current_user: str
    postgate: _struct_pb2.Struct
    decision_id: str
    def __init__(self, approval: _Optional[_Union[QuoteApproval, str]] = ..., consent_scope: _Optional[str] = ..., ask_again_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quote: _Optional[_Union[CheckResponse, _Mapping]] = ..., text_share: _Optional[_Union[CheckResponse, _Mapping]] = ..., can_quote: _Optional[_Union[QuotePolicyLists, _Mapping]] = ..., quote_approval_policy: _Optional[str] = ..., current_user: _Optional[str] = ..., postgate: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., decision_id: _Optional[str] = ...) -> None: ...

class QuotePolicyLists(_message.Message):
    __slots__ = ("automatic_approval", "manual_approval")
    AUTOMATIC_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    MANUAL_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    automatic_approval: _containers.RepeatedScalarFieldContainer[str]
    manual_approval: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, automatic_approval: _Optional[_Iterable[str]] = ..., manual_approval: _Optional[_Iterable[str]] = ...) -> None: ...

class AnswerQuoteRequestRequest(_message.Message):
    __slots__ = ("requested_at", "group", "item", "activity", "authorization_base_uri", "author_uri", "quoter_is_member", "request_context")
    class RequestContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_BASE_URI_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_URI_FIELD_NUMBER: _ClassVar[int]
    QUOTER_IS_MEMBER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    requested_at: _timestamp_pb2.Timestamp
    group: Group
    item: Item
    activity: _struct_pb2.Struct
    authorization_base_uri: str
    author_uri: str
    quoter_is_member: bool
    request_context: _containers.ScalarMap[str, str]
    def __init__(self, requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ..., item: _Optional[_Union[Item, _Mapping]] = ..., activity: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., authorization_base_uri: _Optional[str] = ..., author_uri: _Optional[str] = ..., quoter_is_member: _Optional[bool] = ..., request_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AnswerQuoteRequestResponse(_message.Message):
    __slots__ = ("answer", "activity", "consent_scope", "reason", "quote", "decision_id", "ask_again_at")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    CONSENT_SCOPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    ASK_AGAIN_AT_FIELD_NUMBER: _ClassVar[int]
    answer: QuoteAnswer
    activity: _struct_pb2.Struct
    consent_scope: str
    reason: str
    quote: CheckResponse
    decision_id: str
    ask_again_at: _timestamp_pb2.Timestamp
    def __init__(self, answer: _Optional[_Union[QuoteAnswer, str]] = ..., activity: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., consent_scope: _Optional[str] = ..., reason: _Optional[str] = ..., quote: _Optional[_Union[CheckResponse, _Mapping]] = ..., decision_id: _Optional[str] = ..., ask_again_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecheckQuotesRequest(_message.Message):
    __slots__ = ("requested_at", "group", "item", "quotes", "author_uri", "post_uri", "request_context")
    class RequestContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_URI_FIELD_NUMBER: _ClassVar[int]
    POST_URI_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    requested_at: _timestamp_pb2.Timestamp
    group: Group
    item: Item
    quotes: _containers.RepeatedCompositeFieldContainer[IssuedQuote]
    author_uri: str
    post_uri: str
    request_context: _containers.ScalarMap[str, str]
    def __init__(self, requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ..., item: _Optional[_Union[Item, _Mapping]] = ..., quotes: _Optional[_Iterable[_Union[IssuedQuote, _Mapping]]] = ..., author_uri: _Optional[str] = ..., post_uri: _Optional[str] = ..., request_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class IssuedQuote(_message.Message):
    __slots__ = ("authorization_id", "consent_id", "embedding_uri")
    AUTHORIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_URI_FIELD_NUMBER: _ClassVar[int]
    authorization_id: str
    consent_id: str
    embedding_uri: str
    def __init__(self, authorization_id: _Optional[str] = ..., consent_id: _Optional[str] = ..., embedding_uri: _Optional[str] = ...) -> None: ...

class DetachedQuote(_message.Message):
    __slots__ = ("authorization_id", "consent_id", "reason", "delete")
    AUTHORIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    authorization_id: str
    consent_id: str
    reason: str
    delete: _struct_pb2.Struct
    def __init__(self, authorization_id: _Optional[str] = ..., consent_id: _Optional[str] = ..., reason: _Optional[str] = ..., delete: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RecheckQuotesResponse(_message.Message):
    __slots__ = ("detach", "postgate", "decision_id")
    DETACH_FIELD_NUMBER: _ClassVar[int]
    POSTGATE_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    detach: _containers.RepeatedCompositeFieldContainer[DetachedQuote]
    postgate: _struct_pb2.Struct
    decision_id: str
    def __init__(self, detach: _Optional[_Iterable[_Union[DetachedQuote, _Mapping]]] = ..., postgate: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., decision_id: _Optional[str] = ...) -> None: ...
