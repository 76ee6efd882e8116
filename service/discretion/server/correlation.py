"""What ties a call to its decisions' log lines and to the platform's own logs and traces.

Every decision gets an id of 128 random bits (`decision_ids`): the response
carries it (`CheckResponse.decision_id`), the call's trailing metadata lists a
call's ids in order (`discretion-decision-id`), and the decision log's line has
the same. What the caller says of the call itself (`Call`) is read from its
metadata: `x-request-id`, and the W3C `traceparent`'s trace and parent span.
These are the caller's correlation ids, never content; one that is not well
formed is left out of the line (a malformed `traceparent` is ignored, as the
W3C Trace Context says a receiver must), and never fails the call.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, NamedTuple

__all__ = ["Call", "TRAILER", "call_of", "decision_ids"]

# The trailing metadata key listing a call's decision ids, in order, comma-separated.
TRAILER = "discretion-decision-id"

# Printable ASCII, as HTTP header values are in practice; long enough for any UUID, ULID or trace-style id.
_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,128}")
# version-traceid-parentid-flags; a later version may append fields after a dash.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_TRACEPARENT_CHARS = 512  # a later version's fields included; the OpenTelemetry SDK's bound too


class Call(NamedTuple):
    """The caller's ids for one call; "" where it sent none, or none well formed."""

    request_id: str = ""
    trace_id: str = ""
    span_id: str = ""  # the caller's span: the parent of anything this call records
    sampled: bool = False  # the traceparent's sampled flag: whether the caller records its trace


def decision_ids(count: int) -> list[str]:
    """`count` new decision ids: 32 hex digits each, unique without coordination between workers or replicas."""
    digits = os.urandom(16 * count).hex()
    return [digits[at:at + 32] for at in range(0, 32 * count, 32)]


def call_of(metadata: Iterable[tuple[str, str | bytes]] | None) -> Call:
    """The `Call` a call's invocation metadata describes (grpc gives keys in lower case)."""
    request_id = traceparent = ""
    for key, value in metadata or ():
        if key == "x-request-id" and isinstance(value, str):
            request_id = value
        elif key == "traceparent" and isinstance(value, str):
            traceparent = value
    if not _REQUEST_ID.fullmatch(request_id):
        request_id = ""
    trace_id, span_id, sampled = _trace(traceparent.strip())
    return Call(request_id, trace_id, span_id, sampled)


def _trace(traceparent: str) -> tuple[str, str, bool]:
    """(trace id, parent span id, sampled) of a valid `traceparent`, else ("", "", False)."""
    found = _TRACEPARENT.fullmatch(traceparent) if len(traceparent) <= _TRACEPARENT_CHARS else None
    if found is None:
        return "", "", False
    version, trace_id, span_id, flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest) or set(trace_id) == {"0"} or set(span_id) == {"0"}:
        return "", "", False
    return trace_id, span_id, bool(int(flags, 16) & 1)
