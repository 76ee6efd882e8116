"""The one place errors become gRPC statuses.

    RequestInvalid      INVALID_ARGUMENT, with google.rpc.BadRequest naming each field
    RosterUnknown       FAILED_PRECONDITION, with google.rpc.PreconditionFailure naming each roster
                        digest the caller must send again with its participants (`rosters`)
    NoPolicyLoaded      UNAVAILABLE: the rules have never compiled; retry elsewhere or later
    Unauthenticated     UNAUTHENTICATED: no credential, or one that names nobody
    PermissionDenied    PERMISSION_DENIED: a group or method the caller does not own; the
                        same words whether or not the group exists
    DeadlinePassed      DEADLINE_EXCEEDED: the caller stopped waiting before a decision was made
    anything else       INTERNAL, with a generic message and an incident id; the
                        traceback goes to the server log only, never to a caller

Servicer methods are wrapped with `@translate_errors` and only raise.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any, Callable, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ..engine.deadline import Abandoned
from ..errors import DiscretionError
from ..events import event
from .auth import PermissionDenied, Unauthenticated
from .convert import RequestInvalid
from .rosters import RosterUnknown

__all__ = ["DeadlinePassed", "NoPolicyLoaded", "invalid_argument", "translate_errors"]

log = logging.getLogger("discretion.server")

Method = TypeVar("Method", bound=Callable[..., Any])


class NoPolicyLoaded(DiscretionError):
    """No rules have compiled since the server started."""


class DeadlinePassed(DiscretionError):
    """The call's deadline passed before it was decided: nobody waits for the answer."""


def invalid_argument(error: RequestInvalid) -> grpc.Status:
    """INVALID_ARGUMENT with a BadRequest detail listing every field violation."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    return rpc_status.to_status(
        status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=str(error), details=[detail])
    )


ROSTER_UNKNOWN = "ROSTER_UNKNOWN"  # a PreconditionFailure violation's type: send the roster with its digest


def roster_unknown(error: RosterUnknown) -> grpc.Status:
    """FAILED_PRECONDITION with a PreconditionFailure: one violation per digest, the digest its subject."""
    failure = error_details_pb2.PreconditionFailure(violations=[
        error_details_pb2.PreconditionFailure.Violation(
            type=ROSTER_UNKNOWN, subject=digest,
            description=f"`{field}`: no roster of this digest is held here for the caller; send the request "
                        "again with `group.participants`")
        for field, digest in error.missing])
    detail = any_pb2.Any()
    detail.Pack(failure)
    return rpc_status.to_status(
        status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=str(error), details=[detail]))


def translate_errors(method: Method) -> Method:
    """Wrap a servicer method so every exception it raises ends as one deliberate status."""

    @functools.wraps(method)
    def translated(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except RequestInvalid as error:
            context.abort_with_status(invalid_argument(error))
        except RosterUnknown as error:
            context.abort_with_status(roster_unknown(error))
        except NoPolicyLoaded:
            context.abort(grpc.StatusCode.UNAVAILABLE, "no rules loaded yet")
        except Unauthenticated as error:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(error))
        except PermissionDenied as error:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(error))
        except (DeadlinePassed, Abandoned):
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed before the call was decided")
        except Exception:
            # A fault of ours: the caller learns only that it happened and the id
            # to quote; the details may hold request facts and stay in the log.
            incident = uuid.uuid4().hex[:12]
            log.exception("internal error in %s (incident %s)", method.__name__, incident,
                          extra=event("internal_error", method=method.__name__, incident=incident))
            context.abort(grpc.StatusCode.INTERNAL, f"internal error (incident {incident})")

    return translated  # type: ignore[return-value]
