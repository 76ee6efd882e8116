"""PolicyService: each method checks the caller and the request's size, converts in, decides, converts out.

Who may ask what lives in `auth`, how large a request may be in `limits`;
a method only calls them, first, before any work that grows with the request.
A call whose deadline already passed is not decided: nobody waits for it.

Every call reads the clock once and the policy once (`holder.current`), so a
reload mid-call never changes the rules under a decision, and every entry of a
batch is judged by the same rules at the same instant: the server's, not the
caller's (`convert.Clock`), unless the server runs with `--max-clock-skew off`.

Each decision is counted in the metrics, written on the call's span when
tracing is on (`tracing`), and a call's decisions are written
to the decision log's pipe before the call is answered: a process that dies
after answering has lost no line. Each decision has an id (`correlation`):
in its response, in the call's trailing metadata, and on its log line.

Check and CheckBatch are decided by the native engine (`discretion_native`)
where the revision serving has one and the server runs `--engine native`: it
reads the request's bytes, decides and writes the response's bytes, in the
Python path's order (tenancy, limits, conversion, strings) and words. The
Python evaluator stays the reference: it answers `explain` requests (the
explanation is its trace's) and every revision the native engine cannot serve.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any, Callable

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from ..engine import decide
from ..engine.compiled import CompiledPolicy
from ..engine.instants import SECOND
from ..social import quote_requests
from ..social.quotes import POSTGATE_MAX_DETACHED, Quoter, native_quote, postgate, quote_policy
from . import convert, limits, rosters, tracing
from .convert import FieldViolation, RequestInvalid
from ._gen.discretion.v1 import policy_pb2
from .auth import Gate, Tenant
from .correlation import TRAILER, call_of, decision_ids
from .decision_log import Entry
from .metrics import Metrics
from .status import DeadlinePassed, NoPolicyLoaded, translate_errors
from .summary import Summary

if TYPE_CHECKING:
    from ..store import PolicyHolder
    from ..store.holder import Serving
    from .config import ServerSettings
    from .decision_log import DecisionLog

__all__ = ["PolicyServicer", "add_to_server"]

try:
    from discretion_native import Refused
except ImportError:  # no native engine: the holder serves every revision with the reference, nothing is refused
    Refused = ()


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
        self._native = settings.engine == "native"
        self._native_limits = dataclasses.asdict(settings.limits)  # as the native engine reads them
        self._log_only = settings.decision_log_only  # None: every decision is logged
        # The rosters of the calls the reference answers; the native engine keeps those it decides.
        self._rosters = rosters.Rosters(settings.roster_cache_bytes)
        self._message_bytes = settings.max_message_bytes

    def _policy(self) -> CompiledPolicy:
        policy = self._holder.current
        if policy is None:
            raise NoPolicyLoaded()
        return policy

    def _engine(self) -> tuple[CompiledPolicy | None, Any | None]:
        """The revision serving, read once: its reference policy, and its native engine where that decides.

        Nothing is refused here: without rules the reference path raises NoPolicyLoaded where it always
        has, after the caller and the request were judged."""
        serving: Serving | None = self._holder.serving
        if serving is None:
            return None, None
        return serving.policy, serving.engine if self._native else None

    @translate_errors
    def Check(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.CheckResponse | bytes:
        with self._holder.answering():  # a reload meanwhile gives way to this call
            policy, engine = self._engine()
            if engine is None:
                return self._check(data, context, policy)
            return self._check_natively(engine, policy, data, context)

    def _check_natively(self, engine: Any, policy: CompiledPolicy, data: bytes,
                        context: grpc.ServicerContext) -> policy_pb2.CheckResponse | bytes:
        """_check by the native engine: the same steps in the same order, the response as bytes."""
        started = time.perf_counter()
        caller = self._gate.identify(context)
        decoded = _decoded(engine.decode_check, data)
        if decoded.explain:  # the explanation is the reference's trace in words
            return self._check(data, context, policy)
        tenant = self._gate.evaluate(caller, decoded.group_ids)
        engine = _as_seen_by(engine, tenant)
        now = time.time_ns()
        _still_awaited(context)
        ids = decision_ids(1)
        # The native engine watches the deadline as it goes (the reference's `abandoned`).
        response, summaries = _natively(engine.check, decoded, now, self._max_skew, self._native_limits,
                                        _matchers_of(tenant), context.time_remaining(), ids[0])
        _still_awaited(context)
        self._answered(summaries, ids, decoded, context, started, now, batch=False)
        self._metrics.check_duration("Check").observe(time.perf_counter() - started)
        return response

    def _record(self, entries: Any, now: int, context: grpc.ServicerContext) -> None:
        """Log a call's decisions, those of the outcomes `--decision-log-only` keeps, with the caller's ids."""
        if self._log_only is not None:
            entries = [entry for entry in entries if entry.summary.decision in self._log_only]
        if entries:
            self._log.record(entries, now, tracing.correlated(call_of(context.invocation_metadata())))

    def _answered(self, summaries: list[tuple], ids: list[str], decoded: Any, context: grpc.ServicerContext,
                  started: float, now: int, *, batch: bool) -> None:
        """Count, trace and log a call's decisions, given by the native engine as `Summary` fields; name them in
        its trailer."""
        latency = time.perf_counter() - started
        decided = [Summary(*fields) for fields in summaries]
        for summary in decided:
            self._metrics.decided(summary)
        tracing.decided(ids, decided, batch=batch)
        if self._log is not None:  # before the answer leaves: a decision given out is a decision logged
            entries = [Entry(summary, latency, decision_id, tuple(pairs))
                       for summary, decision_id, pairs in zip(decided, ids, decoded.request_contexts, strict=True)]
            self._record(entries, now, context)
        _trail(context, ids)

    def _check(self, data: bytes, context: grpc.ServicerContext,
               policy: CompiledPolicy | None) -> policy_pb2.CheckResponse:
        started = time.perf_counter()
        caller = self._gate.identify(context)
        request = _read(policy_pb2.CheckRequest, data)
        tenant = self._gate.evaluate(caller, (request.group.id,))
        limits.check_request(request, self._limits)
        sent = rosters.resolve((("", request.group),), self._rosters, _matchers_of(tenant), self._message_bytes)
        now = time.time_ns()
        facts = convert.request_from_proto(request, convert.Clock(now, self._max_skew))
        limits.check_strings(request, facts, self._limits)
        rosters.keep((request.group,), sent, self._rosters, _matchers_of(tenant))
        _still_awaited(context)
        decision = decide(_as_seen_by(_loaded(policy), tenant), facts, now=now, tracer=_tracer(request),
                          abandoned=_abandoned(context))
        _still_awaited(context)  # the last stretch of deciding is not watched: nothing late is counted or logged
        summary = Summary.of(facts, decision)
        self._metrics.decided(summary)
        (decision_id,) = decision_ids(1)
        tracing.decided([decision_id], (summary,), batch=False)
        if self._log is not None:  # before the answer leaves: a decision given out is a decision logged
            entry = Entry(summary, time.perf_counter() - started, decision_id, _context(request))
            self._record((entry,), now, context)
        response = convert.response_to_proto(decision, explain=request.explain)
        response.decision_id = decision_id
        _trail(context, (decision_id,))
        self._metrics.check_duration("Check").observe(time.perf_counter() - started)
        return response

    @translate_errors
    def CheckBatch(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.CheckBatchResponse | bytes:
        with self._holder.answering():
            policy, engine = self._engine()
            if engine is None:
                return self._check_batch(data, context, policy)
            return self._check_batch_natively(engine, policy, data, context)

    def _check_batch_natively(self, engine: Any, policy: CompiledPolicy, data: bytes,
                              context: grpc.ServicerContext) -> policy_pb2.CheckBatchResponse | bytes:
        """_check_batch by the native engine; every decision's latency is the whole batch's (one native call)."""
        started = time.perf_counter()
        caller = self._gate.identify(context)
        decoded = _decoded(engine.decode_batch, data)
        if decoded.explain:  # one check asking for an explanation: the reference answers the batch
            return self._check_batch(data, context, policy)
        # One foreign group refuses the whole batch, as one bad entry does.
        groups = decoded.group_ids
        tenant = self._gate.evaluate(caller, groups)
        engine = _as_seen_by(engine, tenant)
        now = time.time_ns()
        _still_awaited(context)
        ids = decision_ids(len(groups))
        response, summaries = _natively(engine.check_batch, decoded, now, self._max_skew, self._native_limits,
                                        self._max_batch, _matchers_of(tenant), context.time_remaining(), ids)
        # Counted only once the whole batch is decided in time: a batch abandoned half way answers nothing.
        _still_awaited(context)
        self._answered(summaries, ids, decoded, context, started, now, batch=True)
        self._metrics.batch_size.observe(len(summaries))
        self._metrics.check_duration("CheckBatch").observe(time.perf_counter() - started)
        return response

    def _check_batch(self, data: bytes, context: grpc.ServicerContext,
                     policy: CompiledPolicy | None) -> policy_pb2.CheckBatchResponse:
        started = time.perf_counter()
        caller = self._gate.identify(context)
        request = _read(policy_pb2.CheckBatchRequest, data)
        # One foreign group refuses the whole batch, as one bad entry does.
        tenant = self._gate.evaluate(caller, (check.group.id for check in request.checks))
        limits.check_batch(request, self._limits, self._max_batch)
        groups = [check.group for check in request.checks]
        sent = rosters.resolve([(f"checks[{index}].", group) for index, group in enumerate(groups)], self._rosters,
                               _matchers_of(tenant), self._message_bytes)
        now = time.time_ns()
        batch = convert.requests_from_batch(request, self._max_batch, convert.Clock(now, self._max_skew))
        limits.check_batch_strings(request, batch, self._limits)
        rosters.keep(groups, sent, self._rosters, _matchers_of(tenant))
        policy = _as_seen_by(_loaded(policy), tenant)
        response = policy_pb2.CheckBatchResponse()
        results = response.results
        logged = []
        abandoned = _abandoned(context)
        decided = []
        ids = decision_ids(len(batch))
        for facts, check, decision_id in zip(batch, request.checks, ids, strict=True):
            _still_awaited(context)
            decision = decide(policy, facts, now=now, tracer=_tracer(check), abandoned=abandoned)
            summary = Summary.of(facts, decision)
            decided.append(summary)
            if self._log is not None:
                logged.append(Entry(summary, time.perf_counter() - started, decision_id, _context(check)))
            result = results.add()
            convert.response_to_proto(decision, explain=check.explain, into=result)
            result.decision_id = decision_id
        # Counted only once the whole batch is decided in time: a batch abandoned half way answers nothing.
        _still_awaited(context)
        for summary in decided:
            self._metrics.decided(summary)
        tracing.decided(ids, decided, batch=True)
        if self._log is not None:
            self._record(logged, now, context)
        _trail(context, ids)
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
    def GetInteractionPolicy(self, data: bytes,
                             context: grpc.ServicerContext) -> policy_pb2.GetInteractionPolicyResponse:
        """Who may natively quote one item (social.quotes)."""

        def answer(policy: CompiledPolicy, asked: Any, facts: Any) -> tuple[Any, Any, Any]:
            group, (item,), at = facts.group, facts.items, facts.requested_at
            quoter = Quoter(id=asked.quoter.id, member=asked.quoter.member)
            quotes = quote_policy(policy, group, item, at=at, quoter=quoter)
            response = convert.interaction_policy_to_proto(quotes, asked, item, at)
            return response, quotes.decision, native_quote(group, item, quoter, at)

        response = self._quote_question(data, context, policy_pb2.GetInteractionPolicyRequest, answer,
                                        "GetInteractionPolicy")
        response.quote.decision_id = response.decision_id
        return response

    @translate_errors
    def AnswerQuoteRequest(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.AnswerQuoteRequestResponse:
        """An ActivityPub QuoteRequest answered by the group's agreement (social.quote_requests)."""

        def answer(policy: CompiledPolicy, asked: Any, facts: Any) -> tuple[Any, Any, Any]:
            group, (item,), at = facts.group, facts.items, facts.requested_at
            try:
                activity = json_format.MessageToDict(asked.activity) if asked.HasField("activity") else {}
            except (json_format.Error, ValueError):  # NaN, Infinity: no activity of anyone's says them
                activity = {}
            try:
                answered = quote_requests.answer(policy, group, item, activity, at=at, author_uri=asked.author_uri,
                                                 authorizations=asked.authorization_base_uri,
                                                 member=asked.quoter_is_member)
            except quote_requests.NotThisPost as mismatch:
                raise RequestInvalid([FieldViolation("activity.object", str(mismatch))]) from None
            question = None if answered.quoter is None else native_quote(group, item, answered.quoter, at)
            return convert.quote_answer_to_proto(answered), answered.decision, question

        response = self._quote_question(data, context, policy_pb2.AnswerQuoteRequestRequest, answer,
                                        "AnswerQuoteRequest", convert.quote_request_fields)
        if response.HasField("quote"):
            response.quote.decision_id = response.decision_id
        return response

    @translate_errors
    def RecheckQuotes(self, data: bytes, context: grpc.ServicerContext) -> policy_pb2.RecheckQuotesResponse:
        """The authorized quotes whose consent is gone (social.quote_requests.to_detach)."""

        def answer(policy: CompiledPolicy, asked: Any, facts: Any) -> tuple[Any, Any, Any]:
            group, (item,), at = facts.group, facts.items, facts.requested_at
            detached = quote_requests.to_detach(item, convert.issued_quotes(asked), at=at, author_uri=asked.author_uri)
            embeddings = tuple(dict.fromkeys(d.quote.embedding_uri for d in detached if d.quote.embedding_uri))
            if asked.post_uri and len(embeddings) > POSTGATE_MAX_DETACHED:
                raise RequestInvalid([FieldViolation("quotes", f"{len(embeddings)} embeddings to detach; a postgate "
                                                               f"holds at most {POSTGATE_MAX_DETACHED}")])
            quotes = quote_policy(policy, group, item, at=at)
            gate = postgate(quotes, asked.post_uri, at, embeddings) if asked.post_uri else None
            return convert.recheck_to_proto(detached, gate), quotes.decision, native_quote(group, item, Quoter(), at)

        return self._quote_question(data, context, policy_pb2.RecheckQuotesRequest, answer, "RecheckQuotes",
                                    convert.recheck_fields)

    def _quote_question(self, data: bytes, context: grpc.ServicerContext, message: type[Message],
                        answer: Callable[[CompiledPolicy, Any, Any], tuple[Any, Any, Any]], method: str,
                        required: Callable[[Any], list[FieldViolation]] = lambda asked: []) -> Any:
        """A question about quoting one item, a Check in all else: the caller and its group first, then the
        limits of the Check it is written as, one clock, the reference engine, the metrics and the decision log."""
        with self._holder.answering():
            policy, _ = self._engine()
            started = time.perf_counter()
            caller = self._gate.identify(context)
            asked: Any = _read(message, data)
            tenant = self._gate.evaluate(caller, (asked.group.id,))
            sent = rosters.resolve((("", asked.group),), self._rosters, _matchers_of(tenant), self._message_bytes)
            check = convert.quote_question(asked)
            now = time.time_ns()
            missing = required(asked)
            try:
                limits.check_request(check, self._limits)
                facts = convert.interaction_question_from_proto(asked, convert.Clock(now, self._max_skew))
                limits.check_strings(check, facts, self._limits)
            except RequestInvalid as refused:
                raise RequestInvalid([*missing, *convert.as_question(refused).violations]) from None
            if missing:
                raise RequestInvalid(missing)
            rosters.keep((asked.group,), sent, self._rosters, _matchers_of(tenant))
            _still_awaited(context)
            response, decision, question = answer(_as_seen_by(_loaded(policy), tenant), asked, facts)
            _still_awaited(context)
            if decision is not None:
                summary = Summary.of(question, decision)
                self._metrics.decided(summary)
                (decision_id,) = decision_ids(1)
                tracing.decided([decision_id], (summary,), batch=False)
                if self._log is not None:
                    entry = Entry(summary, time.perf_counter() - started, decision_id, _context(check))
                    self._record((entry,), now, context)
                response.decision_id = decision_id
                _trail(context, (decision_id,))
            self._metrics.check_duration(method).observe(time.perf_counter() - started)
            return response

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
                                                  response_serializer=_serializer(response))
        for name, response in (("Check", policy_pb2.CheckResponse), ("CheckBatch", policy_pb2.CheckBatchResponse),
                               ("ListAgreements", policy_pb2.ListAgreementsResponse),
                               ("GetPolicyStatus", policy_pb2.GetPolicyStatusResponse),
                               ("GetInteractionPolicy", policy_pb2.GetInteractionPolicyResponse),
                               ("AnswerQuoteRequest", policy_pb2.AnswerQuoteRequestResponse),
                               ("RecheckQuotes", policy_pb2.RecheckQuotesResponse))
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)


SERVICE = policy_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name


def _loaded(policy: CompiledPolicy | None) -> CompiledPolicy:
    if policy is None:
        raise NoPolicyLoaded()
    return policy


def _serializer(response: type[Message]) -> Any:
    """A response's bytes: the native engine's as they are, a message of the reference serialized."""
    def serialize(answer: Message | bytes) -> bytes:
        return answer if isinstance(answer, bytes) else response.SerializeToString(answer)
    return serialize


def _decoded(decode: Any, data: bytes) -> Any:
    """The native engine's `_read`: the same refusal, in the same words, for bytes that are no such message."""
    try:
        return decode(data)
    except Refused as refused:
        raise _refusal(refused) from None


def _natively(call: Any, *args: Any) -> tuple[bytes, list[tuple]]:
    try:
        return call(*args)
    except Refused as refused:
        raise _refusal(refused) from None


def _refusal(refused: Exception) -> Exception:
    """The error the Python path raises for the case: RequestInvalid naming each field, DeadlinePassed for
    a caller that stopped waiting, or a fault of the engine's (a decision the wire cannot carry, which
    convert answers with a KeyError): INTERNAL."""
    kind, detail = refused.args
    if kind == "invalid":
        return RequestInvalid([FieldViolation(field, description) for field, description in detail])
    if kind == "roster_unknown":
        return rosters.RosterUnknown([(field, digest) for field, digest in detail])
    if kind == "abandoned":
        return DeadlinePassed()
    return RuntimeError(f"the native engine: {detail}")


def _read(message: type[Message], data: bytes) -> Message:
    """The request the bytes hold; bytes that are no such message are INVALID_ARGUMENT, naming what they are not."""
    try:
        return message.FromString(data)
    except DecodeError as error:
        raise RequestInvalid([FieldViolation("", f"the request is not a well-formed {message.DESCRIPTOR.full_name} "
                                                 f"({error}): strings must be UTF-8 and nesting within the "
                                                 "protobuf parser's depth")]) from None


def _as_seen_by(policy: Any, tenant: Tenant | None) -> Any:
    """What a tenant decides under and lists: only what it may use (`Tenant.view`); everything without tenants.

    `policy` is a CompiledPolicy or a native Engine: both have `views` and `restricted`."""
    return policy if tenant is None else tenant.view(policy)


def _matchers_of(tenant: Tenant | None) -> str:
    """Whose name matchers and rosters sent by reference both engines keep for this call: each tenant finds
    only the rosters it sent itself, so what it is answered, and how fast, says nothing of another tenant's
    groups."""
    return "" if tenant is None else tenant.id


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


def _context(check: policy_pb2.CheckRequest) -> tuple[tuple[str, str], ...]:
    """A check's request_context as the log records it: sorted by key (the wire's order is the sender's hash table's)."""
    return tuple(sorted(check.request_context.items())) if check.request_context else ()


def _trail(context: grpc.ServicerContext, ids: Any) -> None:
    """Name the call's decisions in its trailing metadata, in order: a caller that keeps only headers still has them.

    Not for a batch of more than TRAILED_IDS: 33 bytes an id would pass the 8 KiB of metadata gRPC clients
    take by default (past 16 KiB they refuse the whole answer); its ids are in its results."""
    if len(ids) <= TRAILED_IDS:
        context.set_trailing_metadata(((TRAILER, ",".join(ids)),))


TRAILED_IDS = 200


def _tracer(check: policy_pb2.CheckRequest) -> list | None:
    """A trace to record only when the caller asked to `explain`: tracing costs on the hot path."""
    return [] if check.explain else None
