"""PolicyService: each method checks the caller and the request's size, converts in, decides, converts out.

Who may ask what lives in `auth`, how large a request may be in `limits`;
a method only calls them, first, before any work that grows with the request.
A call whose deadline already passed is not decided: nobody waits for it.

Every call reads the clock once and the policy once (`holder.current`), so a
reload mid-call never changes the rules under a decision, and every entry of a
batch is judged by the same rules at the same instant: the server's, not the
caller's (`convert.Clock`), unless the server runs with `--max-clock-skew off`.

Each decision is counted in the metrics, and a call's decisions are written
to the decision log's pipe before the call is answered: a process that dies
after answering has lost no line.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import grpc
from google.protobuf.message import DecodeError, Message

from ..engine import decide
from ..engine.compiled import CompiledPolicy
from ..engine.instants import SECOND
from . import convert, limits
from .convert import FieldViolation, RequestInvalid
from ._gen.discretion.v1 import policy_pb2
from .auth import Gate, Tenant
from .decision_log import Entry
from .metrics import Metrics
from .status import DeadlinePassed, NoPolicyLoaded, translate_errors

if TYPE_CHECKING:
    from ..store import PolicyHolder
    from .config import ServerSettings
    from .decision_log import DecisionLog

__all__ = ["PolicyServicer", "add_to_server"]


class PolicyServicer:
    def __init__(
        self,
        holder: PolicyHolder,
        settings: ServerSettings,
        *,
        metrics: Metrics | None = None,
        decision_log: DecisionLog | None = None,
    ):
        self._holder = holder
        self._max_batch = settings.max_batch
        self._limits = settings.limits
        self._gate = Gate(settings.tenants)
        self._metrics = metrics or Metrics()
        self._log = decision_log
        self._max_skew = None if settings.max_clock_skew is None else round(settings.max_clock_skew * SECOND)

    def _policy(self) -> CompiledPolicy:
        policy = self._holder.current
        if policy is None:
            raise NoPolicyLoaded()
        return policy

    @translate_errors
    def Check(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.CheckResponse:
        with self._holder.answering():  # a reload meanwhile gives way to this call
            return self._check(data, context)

    def _check(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.CheckResponse:
        started = time.perf_counter()
        caller = self._gate.identify(context)
        request = _read(policy_pb2.CheckRequest, data)
        tenant = self._gate.evaluate(caller, (request.group.id,))
        limits.check_request(request, self._limits)
        now = time.time_ns()
        facts = convert.request_from_proto(request, convert.Clock(now, self._max_skew))
        limits.check_strings(request, facts, self._limits)
        _still_awaited(context)
        decision = decide(_as_seen_by(self._policy(), tenant), facts, now=now, tracer=_tracer(request),
                          abandoned=_abandoned(context))
        _still_awaited(context)  # the last stretch of deciding is not watched: nothing late is counted or logged
        self._metrics.decided(facts, decision)
        if self._log is not None:  # before the answer leaves: a decision given out is a decision logged
            self._log.record((Entry(facts, decision, time.perf_counter() - started),), now)
        response = convert.response_to_proto(decision, explain=request.explain)
        self._metrics.check_duration("Check").observe(time.perf_counter() - started)
        return response

    @translate_errors
    def CheckBatch(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.CheckBatchResponse:
        with self._holder.answering():
            return self._check_batch(data, context)

    def _check_batch(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.CheckBatchResponse:
        started = time.perf_counter()
        caller = self._gate.identify(context)
        request = _read(policy_pb2.CheckBatchRequest, data)
        # One foreign group refuses the whole batch, as one bad entry does.
        tenant = self._gate.evaluate(caller, (check.group.id for check in request.checks))
        limits.check_batch(request, self._limits, self._max_batch)
        now = time.time_ns()
        batch = convert.requests_from_batch(request, self._max_batch, convert.Clock(now, self._max_skew))
        limits.check_batch_strings(request, batch, self._limits)
        policy = _as_seen_by(self._policy(), tenant)
        response = policy_pb2.CheckBatchResponse()
        results = response.results
        logged = []
        abandoned = _abandoned(context)
        decided = []
        for facts, check in zip(batch, request.checks, strict=True):
            _still_awaited(context)
            decision = decide(policy, facts, now=now, tracer=_tracer(check), abandoned=abandoned)
            decided.append((facts, decision))
            if self._log is not None:
                logged.append(Entry(facts, decision, time.perf_counter() - started))
            convert.response_to_proto(decision, explain=check.explain, into=results.add())
        # Counted only once the whole batch is decided in time: a batch abandoned half way answers nothing.
        _still_awaited(context)
        for facts, decision in decided:
            self._metrics.decided(facts, decision)
        if self._log is not None:
            self._log.record(logged, now)
        self._metrics.batch_size.observe(len(batch))
        self._metrics.check_duration("CheckBatch").observe(time.perf_counter() - started)
        return response

    @translate_errors
    def ListAgreements(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.ListAgreementsResponse:
        caller = self._gate.identify(context)
        _read(policy_pb2.ListAgreementsRequest, data)
        policy = _as_seen_by(self._policy(), self._gate.agreements(caller))
        return convert.agreements_to_proto(policy.agreements, policy.revision)

    @translate_errors
    def GetPolicyStatus(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.GetPolicyStatusResponse:
        self._gate.admin(self._gate.identify(context))
        _read(policy_pb2.GetPolicyStatusRequest, data)
        return convert.policy_status_to_proto(self._holder.status())


def add_to_server(servicer: PolicyServicer, server: grpc.Server) -> None:
    """Serve `servicer` on `server`, its methods given each request's bytes as they arrived.

    gRPC's own parsing would read a request before anyone knows who sent it,
    and answer bytes that do not parse (a string that is not UTF-8, a Struct
    nested past the parser's depth) with INTERNAL: here the caller is
    identified first, then the bytes are read (`_read`).
    """
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(getattr(servicer, name), request_deserializer=None,
                                                  response_serializer=response.SerializeToString)
        for name, response in (("Check", policy_pb2.CheckResponse), ("CheckBatch", policy_pb2.CheckBatchResponse),
                               ("ListAgreements", policy_pb2.ListAgreementsResponse),
                               ("GetPolicyStatus", policy_pb2.GetPolicyStatusResponse))
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)


SERVICE = policy_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name


def _read(message: type[Message], data: bytes) -> Message:
    """The request the bytes hold; bytes that are no such message are INVALID_ARGUMENT, naming what they are not."""
    try:
        return message.FromString(data)
    except DecodeError as error:
        raise RequestInvalid([FieldViolation("", f"the request is not a well-formed {message.DESCRIPTOR.full_name} "
                                                 f"({error}): strings must be UTF-8 and nesting within the "
                                                 "protobuf parser's depth")]) from None


def _as_seen_by(policy: CompiledPolicy, tenant: Tenant | None) -> CompiledPolicy:
    """What a tenant decides under and lists: only what it may use (`Tenant.view`); everything without tenants."""
    return policy if tenant is None else tenant.view(policy)


def _abandoned(context: grpc.ServicerContext):
    """Whether the caller stopped waiting, for `decide()` to look at as it goes (`engine.deadline`)."""
    def abandoned() -> bool:
        remaining = context.time_remaining()
        return remaining is not None and remaining <= 0
    return abandoned


def _still_awaited(context: grpc.ServicerContext) -> None:
    """Raise DeadlinePassed if the caller's deadline is over: an answer nobody reads is not decided or logged."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise DeadlinePassed()


def _tracer(check: policy_pb2.CheckRequest) -> list | None:
    """A trace to record only when the caller asked to `explain`: tracing costs on the hot path."""
    return [] if check.explain else None
