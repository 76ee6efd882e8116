"""The errors a Client or AsyncClient raises.

A denial is not an error: it is a `Decision` whose `decision` is "deny". These
exceptions mean the service could not give an answer, so the caller has no
decision to act on and must not proceed:

    DiscretionError              base of everything below; `.code`, `.details`
    ├── InvalidRequestError      INVALID_ARGUMENT: the service could not
    │                            understand the request; `.field_violations`
    │                            holds (field, description) pairs such as
    │                            ("checks[1].destination.kind", "...")
    ├── UnavailableError         UNAVAILABLE, still so after the channel's
    │                            retries: no server could be reached
    ├── DeadlineExceededError    no answer within the call's timeout
    ├── PermissionDeniedError    PERMISSION_DENIED
    ├── UnauthenticatedError     UNAUTHENTICATED
    └── ServerError              any other status, or a response this client
        │                        cannot read
        ├── RosterUnknownError   FAILED_PRECONDITION: the server holds no roster
        │                        of a digest sent alone; the client sends the
        │                        request again with the roster, so a caller
        │                        sees it only if that fails too
        └── UnexpectedAnswerError  an answer that cannot be right: a decision
                                 or obligation type this client does not know,
                                 an allow that carries obligations, item
                                 results that do not match the items asked
                                 about, an obligation missing its parts, a
                                 span that ends before it starts

No grpc exception leaves a public method; the original stays reachable as
`__cause__` for debugging. Arguments that cannot be sent at all (a naive
datetime, an unknown enum name) raise ValueError or TypeError when the request
is built, and a closed client raises ValueError, as a closed file does.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class FieldViolation(NamedTuple):
    """One field the service could not accept, named as in the proto (`items[0].id`)."""

    field: str
    description: str


class DiscretionError(Exception):
    """The service gave no decision; see the module docstring for the subclasses."""

    # The gRPC status name this class stands for; the instance keeps the one received.
    default_code = "UNKNOWN"

    def __init__(self, details: str = "", *, code: str | None = None) -> None:
        self.code: str = code or self.default_code
        self.details: str = details
        super().__init__(details or self.code)


class InvalidRequestError(DiscretionError):
    """INVALID_ARGUMENT: the request could not be understood; see `field_violations`."""

    default_code = "INVALID_ARGUMENT"

    def __init__(
        self,
        details: str = "",
        *,
        code: str | None = None,
        field_violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        super().__init__(details, code=code)
        self.field_violations: tuple[FieldViolation, ...] = tuple(field_violations)

    def __str__(self) -> str:
        listed = "; ".join(f"{v.field}: {v.description}" for v in self.field_violations)
        return f"{super().__str__()} ({listed})" if listed else super().__str__()


class UnavailableError(DiscretionError):
    """UNAVAILABLE after retries: no server could be reached."""

    default_code = "UNAVAILABLE"


class DeadlineExceededError(DiscretionError):
    """No answer within the call's timeout."""

    default_code = "DEADLINE_EXCEEDED"


class PermissionDeniedError(DiscretionError):
    """PERMISSION_DENIED: the caller may not use the service."""

    default_code = "PERMISSION_DENIED"


class UnauthenticatedError(DiscretionError):
    """UNAUTHENTICATED: the caller's credentials were missing or rejected."""

    default_code = "UNAUTHENTICATED"


class ServerError(DiscretionError):
    """Any other failure status, or a response this client cannot read."""


class UnexpectedAnswerError(ServerError):
    """An answer that cannot be right, so it is no answer: act as on a denial, and tell someone.

    Read as anything at all it could let content through (an "allow" that also
    asks for a redaction, a result missing for one of the items), so the
    client refuses it; a server and client of different releases is the
    usual cause.
    """

    default_code = "UNEXPECTED_ANSWER"


_BY_STATUS: dict[grpc.StatusCode, type[DiscretionError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
}


class RosterUnknownError(ServerError):
    """FAILED_PRECONDITION naming rosters sent by digest alone that the server does not hold: `.digests`."""

    def __init__(self, details: str = "", *, code: str | None = None, digests: tuple[str, ...] = ()) -> None:
        super().__init__(details, code=code)
        self.digests = digests


ROSTER_UNKNOWN = "ROSTER_UNKNOWN"


def from_status(code: grpc.StatusCode, details: str, violations: tuple[FieldViolation, ...] = ()) -> DiscretionError:
    """The error a status stands for, however it came: a failed call, or the in-process engine's refusal."""
    kind = _BY_STATUS.get(code, ServerError)
    if kind is InvalidRequestError:
        return InvalidRequestError(details, code=code.name, field_violations=violations)
    return kind(details, code=code.name)


def field_violations(details: Iterable[Any]) -> tuple[FieldViolation, ...]:
    """The BadRequest field violations among a google.rpc.Status's details."""
    violations: list[FieldViolation] = []
    for detail in details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations += [FieldViolation(v.field, v.description) for v in bad_request.field_violations]
    return tuple(violations)


def from_rpc_error(error: grpc.RpcError) -> DiscretionError:
    """Translate a failed call (sync or grpc.aio; both expose the status synchronously)."""
    status = _status_code(error)
    if status is grpc.StatusCode.FAILED_PRECONDITION:
        digests = _unknown_rosters(error)
        if digests:
            return RosterUnknownError(_details(error), code=status.name, digests=digests)
    violations = _field_violations(error) if status is grpc.StatusCode.INVALID_ARGUMENT else ()
    return from_status(status, _details(error), violations)


def _status_code(error: grpc.RpcError) -> grpc.StatusCode:
    # grpc.RpcError itself promises nothing; the errors raised by calls are
    # also grpc.Call objects that carry the status.
    code = getattr(error, "code", None)
    status = code() if callable(code) else None
    return status if isinstance(status, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _details(error: grpc.RpcError) -> str:
    details = getattr(error, "details", None)
    return (details() if callable(details) else None) or ""


def _unknown_rosters(error: grpc.RpcError) -> tuple[str, ...]:
    """The digests a PreconditionFailure names as rosters the server does not hold."""
    try:
        status = rpc_status.from_call(error)
    except (AttributeError, TypeError, ValueError):
        return ()
    digests: list[str] = []
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            digests += [v.subject for v in failure.violations if v.type == ROSTER_UNKNOWN]
    return tuple(digests)


def _field_violations(error: grpc.RpcError) -> tuple[FieldViolation, ...]:
    try:
        status = rpc_status.from_call(error)
    except (AttributeError, TypeError, ValueError):
        # A status proto that contradicts the call's own status (or none we
        # can parse) still leaves a usable InvalidRequestError.
        return ()
    if status is None:
        return ()
    return field_violations(status.details)
