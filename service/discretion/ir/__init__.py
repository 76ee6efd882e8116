"""The compiled form of a policy, defined as data (proto/discretion/ir/v1/policy.proto).

The compiler writes one `Policy` message; the evaluator builds itself from it
and nothing else. `IR_VERSION` is bumped on any change of what a message
means, and an evaluator refuses any other (`check_version`).
"""

from __future__ import annotations

import functools

from google.protobuf import text_format

from ._gen.discretion.ir.v1 import policy_pb2 as messages
from ._gen.discretion.ir.v1.policy_pb2 import (
    Adoption, Agreement, Binding, Compare, Condition, Conditions, Consent, ConsentScope, Exists, Expr, Exprs, Fact, Instant,
    LabelScheme, Matches, MessagePiece, Obligation, Parameter, Policy, Quantified, Rule, Value, Values, Version,
)

__all__ = [
    "IR_VERSION", "Adoption", "Agreement", "Binding", "Compare", "Condition", "Conditions", "Consent", "ConsentScope", "Exists",
    "Expr", "Exprs", "Fact", "Instant", "instant", "nanoseconds",
    "LabelScheme", "Matches", "MessagePiece", "Obligation", "Parameter", "Policy", "Quantified", "Rule", "Value",
    "Values", "Version", "UnsupportedVersion", "check_version", "enum_name", "enum_value", "messages", "to_text",
]

IR_VERSION = 1


class UnsupportedVersion(ValueError):
    """A compiled policy of a meaning this evaluator was not written for."""


def check_version(policy: Policy) -> None:
    if policy.ir_version != IR_VERSION:
        raise UnsupportedVersion(f"compiled policy version {policy.ir_version}; this evaluator reads {IR_VERSION}")


_NANOS = 1_000_000_000


def instant(nanoseconds_since_epoch: int) -> Instant:
    """The compiled form of an instant the engine holds as nanoseconds since the epoch."""
    seconds, nanos = divmod(nanoseconds_since_epoch, _NANOS)
    return Instant(seconds=seconds, nanos=nanos)


def nanoseconds(value: Instant) -> int:
    """The engine's instant (nanoseconds since the epoch) of a compiled one; ValueError outside a second's nanoseconds."""
    if not 0 <= value.nanos < _NANOS:
        raise ValueError(f"an instant with {value.nanos} nanoseconds")
    return value.seconds * _NANOS + value.nanos


def to_text(policy: Policy) -> str:
    """The policy in protobuf text format: stable, one field per line, for golden files and reading."""
    return text_format.MessageToString(policy, as_utf8=True)


@functools.cache  # over the enums' own names only
def enum_value(enum: str, name: str) -> int:
    """`enum_value("Effect", "deny_unless_allowed")` -> EFFECT_DENY_UNLESS_ALLOWED's number."""
    prefix = "".join("_" + c if c.isupper() and i else c for i, c in enumerate(enum)).upper()
    return messages.DESCRIPTOR.enum_types_by_name[enum].values_by_name[f"{prefix}_{name.upper()}"].number


@functools.lru_cache(maxsize=256)
def enum_name(enum: str, number: int) -> str:
    """The inverse of `enum_value`: `enum_name("Effect", 4)` -> `deny_unless_allowed`.

    Raises ValueError for a number the enum does not define and for its
    `UNSPECIFIED` zero: a compiled policy always says which.
    """
    prefix = "".join("_" + c if c.isupper() and i else c for i, c in enumerate(enum)).upper()
    value = messages.DESCRIPTOR.enum_types_by_name[enum].values_by_number.get(number)
    if value is None or number == 0:
        raise ValueError(f"{enum} {number} is not a value a compiled policy may hold")
    return value.name[len(prefix) + 1:].lower()
