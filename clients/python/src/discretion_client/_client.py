"""The blocking client."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import grpc

from . import _convert
from ._channel import Metadata, RoundRobin, Settings, TlsCredentials, channel_options, grpc_credentials
from ._errors import RosterUnknownError, from_rpc_error
from ._gen.discretion.v1 import policy_pb2 as pb
from ._gen.discretion.v1.policy_pb2_grpc import PolicyServiceStub
from ._rosters import BY_REFERENCE_FROM, RosterRefs, Rosters
from ._model import (AgreementInfo, CheckRequest, Decision, Group, InteractionPolicy, IssuedQuote, Item,
                     QuoteRecheck, QuoteRequestAnswer, Quoter)


class Client:
    """A blocking client of a Discretion server; safe to share between threads.

    Every call has a deadline: `timeout` seconds unless the call passes its own
    `timeout=`. With `channels=N` the client keeps N connections and uses them
    in turn; when several server processes share one port, the kernel spreads
    connections (not calls) over them, so one connection would load only one.
    Calls that fail with UNAVAILABLE are retried up to three times with
    backoff within the deadline. `credentials` turns on TLS; `metadata` is
    sent with every call (e.g. an authorization header).

    A group of `rosters_by_reference_from` participants or more is sent by
    its roster's digest once the server has the roster (`_rosters`); a server
    that lacks it is sent it in a second call, which the caller never sees.
    None sends every roster whole.

    Errors are the exceptions documented in `discretion_client._errors`; a
    denial is a Decision, not an error. Use as a context manager, or call
    `close()`.
    """

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        timeout: float = 2.0,
        channels: int = 1,
        credentials: TlsCredentials | None = None,
        metadata: Metadata | None = None,
        rosters_by_reference_from: int | None = BY_REFERENCE_FROM,
    ) -> None:
        self._settings = Settings.make(target, timeout, channels, credentials, metadata)
        self._rosters = Rosters(rosters_by_reference_from)
        self._channels = [self._open_channel() for _ in range(self._settings.channels)]
        self._stubs = RoundRobin([PolicyServiceStub(channel) for channel in self._channels])
        self._closed = False

    def check(self, request: CheckRequest, *, timeout: float | None = None, request_id: str | None = None) -> Decision:
        """Decide one request. `request_id`: your id for the call, sent as `x-request-id` and logged beside
        the decision (`Decision.decision_id` names the decision itself)."""
        response = self._ask("Check", lambda refs: _convert.check_request(request, refs), timeout, request_id)
        return _convert.decision(response, request)

    def check_batch(self, requests: Iterable[CheckRequest], *, timeout: float | None = None,
                    request_id: str | None = None) -> list[Decision]:
        """Decide many independent requests in one call; one Decision per request, in order.

        The server refuses the whole batch (InvalidRequestError naming
        `checks[i].field`) if any entry cannot be understood. An empty batch
        returns [] without a call.
        """
        requests = list(requests)
        if not requests:
            return []
        response = self._ask("CheckBatch", lambda refs: _convert.check_batch_request(requests, refs), timeout,
                             request_id)
        return _convert.decisions(response, requests)

    def is_allowed(self, request: CheckRequest, *, timeout: float | None = None) -> bool:
        """True only if the decision is "allow".

        "allow_with_obligations" gives False: the act is allowed only once every
        obligation is fulfilled, which this answer cannot promise. A caller able
        to fulfil obligations should call check() and act on its obligations.
        """
        return self.check(request, timeout=timeout).allowed

    def get_interaction_policy(self, group: Group, item: Item, *, quoter: Quoter | None = None,
                               author_uri: str = "", post_uri: str = "", requested_at: _dt.datetime | None = None,
                               request_context: Mapping[str, str] | None = None, timeout: float | None = None,
                               request_id: str | None = None) -> InteractionPolicy:
        """Who may natively quote `item`, posted in `group`, by the group's agreement, and each platform's control
        for it (ActivityPub `canQuote`, Mastodon's policy, a Bluesky postgate); for `quoter` when you name one."""
        def build(refs: RosterRefs | None) -> pb.GetInteractionPolicyRequest:
            return _convert.interaction_policy_request(group, item, quoter, author_uri, post_uri, requested_at,
                                                       request_context or {}, refs)
        return _convert.interaction_policy(self._ask("GetInteractionPolicy", build, timeout, request_id), item)

    def answer_quote_request(self, group: Group, item: Item, activity: Mapping[str, Any], *,
                             authorization_base_uri: str, author_uri: str, quoter_is_member: bool = False,
                             requested_at: _dt.datetime | None = None, request_context: Mapping[str, str] | None = None,
                             timeout: float | None = None, request_id: str | None = None) -> QuoteRequestAnswer:
        """Answer an ActivityPub QuoteRequest (`activity`, the JSON as it arrived) about `item`, posted in `group`,
        by the group's agreement: an Accept with a QuoteAuthorization under `authorization_base_uri`, a Reject, or
        pending on the author's consent."""
        def build(refs: RosterRefs | None) -> pb.AnswerQuoteRequestRequest:
            return _convert.quote_request_request(group, item, activity, authorization_base_uri, author_uri,
                                                  quoter_is_member, requested_at, request_context or {}, refs)
        return _convert.quote_request_answer(self._ask("AnswerQuoteRequest", build, timeout, request_id), item)

    def recheck_quotes(self, group: Group, item: Item, quotes: Iterable[IssuedQuote], *, author_uri: str,
                       post_uri: str = "", requested_at: _dt.datetime | None = None,
                       request_context: Mapping[str, str] | None = None, timeout: float | None = None,
                       request_id: str | None = None) -> QuoteRecheck:
        """The quotes you authorized of `item` to detach now: those resting on a consent (by its id) the item no
        longer holds in force. Send the item with its consents as they stand, each with its id."""
        quotes = list(quotes)

        def build(refs: RosterRefs | None) -> pb.RecheckQuotesRequest:
            return _convert.recheck_request(group, item, quotes, author_uri, post_uri, requested_at,
                                            request_context or {}, refs)
        message = build(None)  # what the answer is read against: the quotes as asked
        return _convert.quote_recheck(self._ask("RecheckQuotes", build, timeout, request_id), message)

    def list_agreements(self, *, timeout: float | None = None) -> list[AgreementInfo]:
        """Every agreement the server has loaded."""
        response = self._call("ListAgreements", pb.ListAgreementsRequest(), timeout)
        return _convert.agreements(response)

    def close(self) -> None:
        """Close every connection; calls made afterwards raise ValueError. Safe to repeat."""
        self._closed = True
        for channel in self._channels:
            channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _open_channel(self) -> grpc.Channel:
        settings = self._settings
        if settings.credentials is None:
            return grpc.insecure_channel(settings.target, options=channel_options())
        return grpc.secure_channel(settings.target, grpc_credentials(settings.credentials), options=channel_options())

    def _ask(self, method: str, build: Any, timeout: float | None, request_id: str | None) -> Any:
        """Call with the message `build(refs)` writes: large rosters by digest, and again with the rosters
        the server says it lacks, written beside their digests so that it keeps them."""
        try:
            return self._call(method, build(self._rosters.refs()), timeout, request_id)
        except RosterUnknownError as unknown:
            return self._call(method, build(self._rosters.refs(send=unknown.digests)), timeout, request_id)

    def _call(self, method: str, message: Any, timeout: float | None, request_id: str | None = None) -> Any:
        if self._closed:
            raise ValueError("the Client is closed")
        deadline = self._settings.deadline(timeout)
        metadata = self._settings.call_metadata(request_id)
        stub = self._stubs.next()
        try:
            return getattr(stub, method)(message, timeout=deadline, metadata=metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
