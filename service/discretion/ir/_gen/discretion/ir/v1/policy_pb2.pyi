from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Effect(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EFFECT_UNSPECIFIED: _ClassVar[Effect]
    EFFECT_ALLOW: _ClassVar[Effect]
    EFFECT_ALLOW_WITH_OBLIGATIONS: _ClassVar[Effect]
    EFFECT_DENY: _ClassVar[Effect]
    EFFECT_DENY_UNLESS_ALLOWED: _ClassVar[Effect]
    EFFECT_REQUIRE: _ClassVar[Effect]

class Operator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPERATOR_UNSPECIFIED: _ClassVar[Operator]
    OPERATOR_EQ: _ClassVar[Operator]
    OPERATOR_NE: _ClassVar[Operator]
    OPERATOR_IN: _ClassVar[Operator]
    OPERATOR_NOT_IN: _ClassVar[Operator]
    OPERATOR_CONTAINS: _ClassVar[Operator]
    OPERATOR_LT: _ClassVar[Operator]
    OPERATOR_LE: _ClassVar[Operator]
    OPERATOR_GT: _ClassVar[Operator]
    OPERATOR_GE: _ClassVar[Operator]

class Quantifier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUANTIFIER_UNSPECIFIED: _ClassVar[Quantifier]
    QUANTIFIER_SOME: _ClassVar[Quantifier]
    QUANTIFIER_EVERY: _ClassVar[Quantifier]
    QUANTIFIER_NONE: _ClassVar[Quantifier]

class ConsentTest(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_TEST_UNSPECIFIED: _ClassVar[ConsentTest]
    CONSENT_TEST_AUTHOR_CONSENTED: _ClassVar[ConsentTest]
    CONSENT_TEST_AUTHOR_WITHDREW: _ClassVar[ConsentTest]
    CONSENT_TEST_CONSENTED: _ClassVar[ConsentTest]
EFFECT_UNSPECIFIED: Effect
EFFECT_ALLOW: Effect
EFFECT_ALLOW_WITH_OBLIGATIONS: Effect
EFFECT_DENY: Effect
EFFECT_DENY_UNLESS_ALLOWED: Effect
EFFECT_REQUIRE: Effect
OPERATOR_UNSPECIFIED: Operator
OPERATOR_EQ: Operator
OPERATOR_NE: Operator
OPERATOR_IN: Operator
OPERATOR_NOT_IN: Operator
OPERATOR_CONTAINS: Operator
OPERATOR_LT: Operator
OPERATOR_LE: Operator
OPERATOR_GT: Operator
OPERATOR_GE: Operator
QUANTIFIER_UNSPECIFIED: Quantifier
QUANTIFIER_SOME: Quantifier
QUANTIFIER_EVERY: Quantifier
QUANTIFIER_NONE: Quantifier
CONSENT_TEST_UNSPECIFIED: ConsentTest
CONSENT_TEST_AUTHOR_CONSENTED: ConsentTest
CONSENT_TEST_AUTHOR_WITHDREW: ConsentTest
CONSENT_TEST_CONSENTED: ConsentTest

class Policy(_message.Message):
    __slots__ = ("ir_version", "revision", "agreements", "label_schemes", "bindings", "consent_scopes")
    IR_VERSION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    AGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    LABEL_SCHEMES_FIELD_NUMBER: _ClassVar[int]
    BINDINGS_FIELD_NUMBER: _ClassVar[int]
    CONSENT_SCOPES_FIELD_NUMBER: _ClassVar[int]
    ir_version: int
    revision: str
    agreements: _containers.RepeatedCompositeFieldContainer[Agreement]
    label_schemes: _containers.RepeatedCompositeFieldContainer[LabelScheme]
    bindings: _containers.RepeatedCompositeFieldContainer[Binding]
    consent_scopes: _containers.RepeatedCompositeFieldContainer[ConsentScope]
    def __init__(self, ir_version: _Optional[int] = ..., revision: _Optional[str] = ..., agreements: _Optional[_Iterable[_Union[Agreement, _Mapping]]] = ..., label_schemes: _Optional[_Iterable[_Union[LabelScheme, _Mapping]]] = ..., bindings: _Optional[_Iterable[_Union[Binding, _Mapping]]] = ..., consent_scopes: _Optional[_Iterable[_Union[ConsentScope, _Mapping]]] = ...) -> None: ...

class ConsentScope(_message.Message):
    __slots__ = ("name", "meaning", "agreement")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEANING_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    meaning: str
    agreement: str
    def __init__(self, name: _Optional[str] = ..., meaning: _Optional[str] = ..., agreement: _Optional[str] = ...) -> None: ...

class Agreement(_message.Message):
    __slots__ = ("id", "title", "summary", "source", "platform_wide", "versions")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_WIDE_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    summary: str
    source: str
    platform_wide: bool
    versions: _containers.RepeatedCompositeFieldContainer[Version]
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., summary: _Optional[str] = ..., source: _Optional[str] = ..., platform_wide: _Optional[bool] = ..., versions: _Optional[_Iterable[_Union[Version, _Mapping]]] = ...) -> None: ...

class Version(_message.Message):
    __slots__ = ("number", "effective_from", "disclosed_at", "published_at", "default_labels", "label_floors", "authors_may_restrict_later", "frozen_schemes", "rules")
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
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    DISCLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_LABELS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FLOORS_FIELD_NUMBER: _ClassVar[int]
    AUTHORS_MAY_RESTRICT_LATER_FIELD_NUMBER: _ClassVar[int]
    FROZEN_SCHEMES_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    number: int
    effective_from: Instant
    disclosed_at: Instant
    published_at: Instant
    default_labels: _containers.ScalarMap[str, str]
    label_floors: _containers.ScalarMap[str, str]
    authors_may_restrict_later: bool
    frozen_schemes: _containers.RepeatedScalarFieldContainer[str]
    rules: _containers.RepeatedCompositeFieldContainer[Rule]
    def __init__(self, number: _Optional[int] = ..., effective_from: _Optional[_Union[Instant, _Mapping]] = ..., disclosed_at: _Optional[_Union[Instant, _Mapping]] = ..., published_at: _Optional[_Union[Instant, _Mapping]] = ..., default_labels: _Optional[_Mapping[str, str]] = ..., label_floors: _Optional[_Mapping[str, str]] = ..., authors_may_restrict_later: _Optional[bool] = ..., frozen_schemes: _Optional[_Iterable[str]] = ..., rules: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ...) -> None: ...

class Rule(_message.Message):
    __slots__ = ("id", "effect", "waivable_by_author", "actions", "destinations", "when", "obligations", "reason_code", "message", "schemes_read", "consent_scopes_read")
    ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    WAIVABLE_BY_AUTHOR_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    WHEN_FIELD_NUMBER: _ClassVar[int]
    OBLIGATIONS_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SCHEMES_READ_FIELD_NUMBER: _ClassVar[int]
    CONSENT_SCOPES_READ_FIELD_NUMBER: _ClassVar[int]
    id: str
    effect: Effect
    waivable_by_author: bool
    actions: _containers.RepeatedScalarFieldContainer[str]
    destinations: _containers.RepeatedScalarFieldContainer[str]
    when: Condition
    obligations: _containers.RepeatedCompositeFieldContainer[Obligation]
    reason_code: str
    message: _containers.RepeatedCompositeFieldContainer[MessagePiece]
    schemes_read: _containers.RepeatedScalarFieldContainer[str]
    consent_scopes_read: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., effect: _Optional[_Union[Effect, str]] = ..., waivable_by_author: _Optional[bool] = ..., actions: _Optional[_Iterable[str]] = ..., destinations: _Optional[_Iterable[str]] = ..., when: _Optional[_Union[Condition, _Mapping]] = ..., obligations: _Optional[_Iterable[_Union[Obligation, _Mapping]]] = ..., reason_code: _Optional[str] = ..., message: _Optional[_Iterable[_Union[MessagePiece, _Mapping]]] = ..., schemes_read: _Optional[_Iterable[str]] = ..., consent_scopes_read: _Optional[_Iterable[str]] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[Expr]
    def __init__(self, entries: _Optional[_Iterable[_Union[Expr, _Mapping]]] = ...) -> None: ...

class Conditions(_message.Message):
    __slots__ = ("conditions",)
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    def __init__(self, conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ...) -> None: ...

class Instant(_message.Message):
    __slots__ = ("seconds", "nanos")
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    NANOS_FIELD_NUMBER: _ClassVar[int]
    seconds: int
    nanos: int
    def __init__(self, seconds: _Optional[int] = ..., nanos: _Optional[int] = ...) -> None: ...

class Fact(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class Value(_message.Message):
    __slots__ = ("text", "integer", "boolean", "number", "instant", "null", "list")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INTEGER_FIELD_NUMBER: _ClassVar[int]
    BOOLEAN_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    INSTANT_FIELD_NUMBER: _ClassVar[int]
    NULL_FIELD_NUMBER: _ClassVar[int]
    LIST_FIELD_NUMBER: _ClassVar[int]
    text: str
    integer: int
    boolean: bool
    number: float
    instant: Instant
    null: bool
    list: Values
    def __init__(self, text: _Optional[str] = ..., integer: _Optional[int] = ..., boolean: _Optional[bool] = ..., number: _Optional[float] = ..., instant: _Optional[_Union[Instant, _Mapping]] = ..., null: _Optional[bool] = ..., list: _Optional[_Union[Values, _Mapping]] = ...) -> None: ...

class Values(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[Value]
    def __init__(self, values: _Optional[_Iterable[_Union[Value, _Mapping]]] = ...) -> None: ...

class Compare(_message.Message):
    __slots__ = ("op", "fact", "value", "values", "other")
    OP_FIELD_NUMBER: _ClassVar[int]
    FACT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    op: Operator
    fact: Fact
    value: Value
    values: Values
    other: Fact
    def __init__(self, op: _Optional[_Union[Operator, str]] = ..., fact: _Optional[_Union[Fact, _Mapping]] = ..., value: _Optional[_Union[Value, _Mapping]] = ..., values: _Optional[_Union[Values, _Mapping]] = ..., other: _Optional[_Union[Fact, _Mapping]] = ...) -> None: ...

class Exists(_message.Message):
    __slots__ = ("fact", "present")
    FACT_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    fact: Fact
    present: bool
    def __init__(self, fact: _Optional[_Union[Fact, _Mapping]] = ..., present: _Optional[bool] = ...) -> None: ...

class Matches(_message.Message):
    __slots__ = ("fact", "pattern")
    FACT_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    fact: Fact
    pattern: str
    def __init__(self, fact: _Optional[_Union[Fact, _Mapping]] = ..., pattern: _Optional[str] = ...) -> None: ...

class Quantified(_message.Message):
    __slots__ = ("quantifier", "of", "where")
    QUANTIFIER_FIELD_NUMBER: _ClassVar[int]
    OF_FIELD_NUMBER: _ClassVar[int]
    AS_FIELD_NUMBER: _ClassVar[int]
    WHERE_FIELD_NUMBER: _ClassVar[int]
    quantifier: Quantifier
    of: Fact
    where: Condition
    def __init__(self, quantifier: _Optional[_Union[Quantifier, str]] = ..., of: _Optional[_Union[Fact, _Mapping]] = ..., where: _Optional[_Union[Condition, _Mapping]] = ..., **kwargs) -> None: ...

class Consent(_message.Message):
    __slots__ = ("test", "scope", "by")
    TEST_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    test: ConsentTest
    scope: str
    by: Fact
    def __init__(self, test: _Optional[_Union[ConsentTest, str]] = ..., scope: _Optional[str] = ..., by: _Optional[_Union[Fact, _Mapping]] = ...) -> None: ...

class Expr(_message.Message):
    __slots__ = ("text", "all", "any", "quantified", "compare", "exists", "matches", "consent", "actor_is_author", "tests")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ANY_FIELD_NUMBER: _ClassVar[int]
    NOT_FIELD_NUMBER: _ClassVar[int]
    QUANTIFIED_FIELD_NUMBER: _ClassVar[int]
    COMPARE_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_IS_AUTHOR_FIELD_NUMBER: _ClassVar[int]
    TESTS_FIELD_NUMBER: _ClassVar[int]
    text: str
    all: Conditions
    any: Conditions
    quantified: Quantified
    compare: Compare
    exists: Exists
    matches: Matches
    consent: Consent
    actor_is_author: bool
    tests: Exprs
    def __init__(self, text: _Optional[str] = ..., all: _Optional[_Union[Conditions, _Mapping]] = ..., any: _Optional[_Union[Conditions, _Mapping]] = ..., quantified: _Optional[_Union[Quantified, _Mapping]] = ..., compare: _Optional[_Union[Compare, _Mapping]] = ..., exists: _Optional[_Union[Exists, _Mapping]] = ..., matches: _Optional[_Union[Matches, _Mapping]] = ..., consent: _Optional[_Union[Consent, _Mapping]] = ..., actor_is_author: _Optional[bool] = ..., tests: _Optional[_Union[Exprs, _Mapping]] = ..., **kwargs) -> None: ...

class Exprs(_message.Message):
    __slots__ = ("exprs",)
    EXPRS_FIELD_NUMBER: _ClassVar[int]
    exprs: _containers.RepeatedCompositeFieldContainer[Expr]
    def __init__(self, exprs: _Optional[_Iterable[_Union[Expr, _Mapping]]] = ...) -> None: ...

class Obligation(_message.Message):
    __slots__ = ("type", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Parameter
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Parameter, _Mapping]] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    type: str
    parameters: _containers.MessageMap[str, Parameter]
    def __init__(self, type: _Optional[str] = ..., parameters: _Optional[_Mapping[str, Parameter]] = ...) -> None: ...

class Parameter(_message.Message):
    __slots__ = ("text", "instant", "fact")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INSTANT_FIELD_NUMBER: _ClassVar[int]
    FACT_FIELD_NUMBER: _ClassVar[int]
    text: str
    instant: Instant
    fact: Fact
    def __init__(self, text: _Optional[str] = ..., instant: _Optional[_Union[Instant, _Mapping]] = ..., fact: _Optional[_Union[Fact, _Mapping]] = ...) -> None: ...

class MessagePiece(_message.Message):
    __slots__ = ("text", "fact")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FACT_FIELD_NUMBER: _ClassVar[int]
    text: str
    fact: Fact
    def __init__(self, text: _Optional[str] = ..., fact: _Optional[_Union[Fact, _Mapping]] = ...) -> None: ...

class LabelScheme(_message.Message):
    __slots__ = ("name", "order", "aliases", "agreement", "relabel_by")
    class AliasesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    RELABEL_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    order: _containers.RepeatedScalarFieldContainer[str]
    aliases: _containers.ScalarMap[str, str]
    agreement: str
    relabel_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., order: _Optional[_Iterable[str]] = ..., aliases: _Optional[_Mapping[str, str]] = ..., agreement: _Optional[str] = ..., relabel_by: _Optional[_Iterable[str]] = ...) -> None: ...

class Binding(_message.Message):
    __slots__ = ("group", "adoptions")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ADOPTIONS_FIELD_NUMBER: _ClassVar[int]
    group: str
    adoptions: _containers.RepeatedCompositeFieldContainer[Adoption]
    def __init__(self, group: _Optional[str] = ..., adoptions: _Optional[_Iterable[_Union[Adoption, _Mapping]]] = ...) -> None: ...

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
    effective_from: Instant
    disclosed_at: Instant
    replaces: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedScalarFieldContainer[str]
    default_labels: _containers.ScalarMap[str, str]
    label_floors: _containers.ScalarMap[str, str]
    def __init__(self, agreement: _Optional[str] = ..., version: _Optional[int] = ..., effective_from: _Optional[_Union[Instant, _Mapping]] = ..., disclosed_at: _Optional[_Union[Instant, _Mapping]] = ..., replaces: _Optional[_Iterable[str]] = ..., segments: _Optional[_Iterable[str]] = ..., default_labels: _Optional[_Mapping[str, str]] = ..., label_floors: _Optional[_Mapping[str, str]] = ...) -> None: ...
