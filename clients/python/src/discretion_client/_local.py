"""LocalEngine: the Client's methods and types, answered in this process by the server's own code.

For a Python platform that would rather not run a service: the rules are
compiled here and every request goes through the same servicer a `discretion
serve` worker runs (the same validation, limits, native engine and answers),
handed the request's bytes with a `PlainCall` for gRPC's context. Nothing is
sent anywhere. It needs the `local` extra (`pip install
'discretion-client[local]'`: the service and its native engine); the client
alone does not.

It decides at the clock, as a server does, unless given `as_of`: then every
request without its own `requested_at` is decided at that instant (what-if
and replay), and one with `requested_at` at its own.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import grpc

from . import _convert
from ._errors import DiscretionError, field_violations, from_status
from ._gen.discretion.v1 import policy_pb2 as pb
from ._model import (AgreementInfo, CheckRequest, Decision, Group, InteractionPolicy, IssuedQuote, Item,
                     QuoteRecheck, QuoteRequestAnswer, Quoter)

__all__ = ["LocalEngine"]


class LocalEngine:
    """`Client`'s interface over rules compiled in this process.

    `rules` is the rules folder; `engine` "native" (the default, as a server)
    or "reference"; `as_of` an aware datetime to decide at instead of the clock.
    Raises ValueError, with every diagnostic, when the rules do not compile.
    """

    def __init__(self, rules: str | os.PathLike[str] = "rules", *, as_of: _dt.datetime | None = None,
                 engine: str = "native") -> None:
        try:
            from discretion.server.call import PlainCall, Refusal
            from discretion.server.config import ServerSettings
            from discretion.server.servicer import PolicyServicer
            from discretion.store import PolicyHolder
        except ImportError as error:  # pragma: no cover - what a client installed alone says
            raise ImportError("LocalEngine needs the service: pip install 'discretion-client[local]'") from error
        if as_of is not None and (not isinstance(as_of, _dt.datetime) or as_of.utcoffset() is None):
            raise ValueError("as_of: expected a timezone-aware datetime")
        if engine not in ("native", "reference"):
            raise ValueError("engine: `native` or `reference`")
        holder = PolicyHolder(os.fspath(rules), native=engine == "native", reports=False)
        if not holder.reload():
            problems = "\n".join(d.render() for d in holder.status().last_error)
            raise ValueError(f"the rules in {os.fspath(rules)} do not compile:\n{problems}")
        # With `as_of`, a request's requested_at is honoured (the server's --max-clock-skew off).
        settings = ServerSettings(rules_dir=os.fspath(rules), engine=engine,
                                  max_clock_skew=None if as_of is not None else 300.0)
        self._servicer = PolicyServicer(holder, settings)
        self._max_bytes = settings.max_message_bytes
        self._as_of = as_of
        self._call_type = PlainCall
        self._refusal = Refusal
        self._closed = False

    def check(self, request: CheckRequest, *, timeout: float | None = None, request_id: str | None = None) -> Decision:
        """Decide one request, as Client.check. `timeout` is accepted for the same signature; nothing waits here."""
        message = self._at(_convert.check_request(request))
        response = self._call("Check", message, pb.CheckResponse, request_id)
        return _convert.decision(response, request)

    def check_batch(self, requests: Iterable[CheckRequest], *, timeout: float | None = None,
                    request_id: str | None = None) -> list[Decision]:
        """Decide many requests, as Client.check_batch: one Decision per request, in order."""
        requests = list(requests)
        message = _convert.check_batch_request(requests)
        if not message.checks:
            return []
        for check in message.checks:
            self._at(check)
        return _convert.decisions(self._call("CheckBatch", message, pb.CheckBatchResponse, request_id), requests)

    def is_allowed(self, request: CheckRequest, *, timeout: float | None = None) -> bool:
        """True only if the decision is "allow", as Client.is_allowed."""
        return self.check(request).allowed

    def get_interaction_policy(self, group: Group, item: Item, *, quoter: Quoter | None = None,
                               author_uri: str = "", post_uri: str = "", requested_at: _dt.datetime | None = None,
                               request_context: Mapping[str, str] | None = None, timeout: float | None = None,
                               request_id: str | None = None) -> InteractionPolicy:
        """Who may natively quote `item`, as Client.get_interaction_policy."""
        message = _convert.interaction_policy_request(group, item, quoter, author_uri, post_uri, requested_at,
                                                      request_context or {})
        self._at(message)
        response = self._call("GetInteractionPolicy", message, pb.GetInteractionPolicyResponse, request_id)
        return _convert.interaction_policy(response, item)

    def answer_quote_request(self, group: Group, item: Item, activity: Mapping[str, Any], *,
                             authorization_base_uri: str, author_uri: str, quoter_is_member: bool = False,
                             requested_at: _dt.datetime | None = None, request_context: Mapping[str, str] | None = None,
                             timeout: float | None = None, request_id: str | None = None) -> QuoteRequestAnswer:
        """Answer an ActivityPub QuoteRequest, as Client.answer_quote_request."""
        message = _convert.quote_request_request(group, item, activity, authorization_base_uri, author_uri,
                                                 quoter_is_member, requested_at, request_context or {})
        self._at(message)
        response = self._call("AnswerQuoteRequest", message, pb.AnswerQuoteRequestResponse, request_id)
        return _convert.quote_request_answer(response, item)

    def recheck_quotes(self, group: Group, item: Item, quotes: Iterable[IssuedQuote], *, author_uri: str,
                       post_uri: str = "", requested_at: _dt.datetime | None = None,
                       request_context: Mapping[str, str] | None = None, timeout: float | None = None,
                       request_id: str | None = None) -> QuoteRecheck:
        """The quotes to detach now, as Client.recheck_quotes."""
        message = _convert.recheck_request(group, item, quotes, author_uri, post_uri, requested_at,
                                           request_context or {})
        self._at(message)
        return _convert.quote_recheck(self._call("RecheckQuotes", message, pb.RecheckQuotesResponse, request_id),
                                      message)

    def list_agreements(self, *, timeout: float | None = None) -> list[AgreementInfo]:
        """Every agreement loaded."""
        return _convert.agreements(self._call("ListAgreements", pb.ListAgreementsRequest(),
                                              pb.ListAgreementsResponse, None))

    def close(self) -> None:
        """Calls made afterwards raise ValueError, as a closed Client's do."""
        self._closed = True

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _at(self, message: Any) -> Any:
        if self._as_of is not None and not message.HasField("requested_at"):
            message.requested_at.FromDatetime(self._as_of.astimezone(_dt.timezone.utc).replace(tzinfo=None))
        return message

    def _call(self, method: str, message: Any, answer: Any, request_id: str | None) -> Any:
        if self._closed:
            raise ValueError("the LocalEngine is closed")
        if request_id is not None and not (isinstance(request_id, str) and 1 <= len(request_id) <= 128
                                           and all(" " <= c <= "~" for c in request_id)):
            raise ValueError(f"request_id: 1 to 128 printable ASCII characters, got {request_id!r}")
        call = self._call_type([("x-request-id", request_id)] if request_id else [], None)
        data = message.SerializeToString()
        if len(data) > self._max_bytes:  # what gRPC refuses before a server reads it, refused here too
            raise from_status(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"the request is {len(data)} bytes; a server takes at most {self._max_bytes}")
        try:
            answered = getattr(self._servicer, method)(data, call)
        except self._refusal as refused:
            raise _error(refused) from None
        # The servicer's messages are the service's own classes (or the native engine's bytes): read as the client's.
        return answer.FromString(answered if isinstance(answered, bytes) else answered.SerializeToString())


def _error(refused: Any) -> DiscretionError:
    code = refused.code if isinstance(refused.code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN
    return from_status(code, refused.status.message, field_violations(refused.status.details))
