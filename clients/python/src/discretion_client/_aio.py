"""The asyncio client: the twin of Client, with the same methods awaited."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import grpc
import grpc.aio

from . import _convert
from ._channel import Metadata, RoundRobin, Settings, TlsCredentials, channel_options, grpc_credentials
from ._errors import RosterUnknownError, from_rpc_error
from ._gen.discretion.v1 import policy_pb2 as pb
from ._gen.discretion.v1.policy_pb2_grpc import PolicyServiceStub
from ._rosters import BY_REFERENCE_FROM, RosterRefs, Rosters
from ._model import (AgreementInfo, CheckRequest, Decision, Group, InteractionPolicy, IssuedQuote, Item,
                     QuoteRecheck, QuoteRequestAnswer, Quoter)


class AsyncClient:
    """An asyncio client of a Discretion server; see Client for the behaviour.

    Connections open on the first call, inside the running event loop, so the
    client may be built before the loop starts; use it from that one loop.
    Use `async with`, or `await close()`.
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
        self._channels: list[grpc.aio.Channel] = []
        self._stubs: RoundRobin[PolicyServiceStub] | None = None
        self._closed = False

    async def check(self, request: CheckRequest, *, timeout: float | None = None,
                    request_id: str | None = None) -> Decision:
        """Decide one request; `request_id` as for Client.check."""
        response = await self._ask("Check", lambda refs: _convert.check_request(request, refs), timeout, request_id)
        return _convert.decision(response, request)

    async def check_batch(
        self, requests: Iterable[CheckRequest], *, timeout: float | None = None, request_id: str | None = None
    ) -> list[Decision]:
        """Decide many independent requests in one call; see Client.check_batch."""
        requests = list(requests)
        if not requests:
            return []
        response = await self._ask("CheckBatch", lambda refs: _convert.check_batch_request(requests, refs), timeout,
                             request_id)
        return _convert.decisions(response, requests)

    async def is_allowed(self, request: CheckRequest, *, timeout: float | None = None) -> bool:
        """True only if the decision is "allow"; "allow_with_obligations" gives False (see Client.is_allowed)."""
        return (await self.check(request, timeout=timeout)).allowed

    async def get_interaction_policy(self, group: Group, item: Item, *, quoter: Quoter | None = None,
                                     author_uri: str = "", post_uri: str = "",
                                     requested_at: _dt.datetime | None = None,
                                     request_context: Mapping[str, str] | None = None, timeout: float | None = None,
                                     request_id: str | None = None) -> InteractionPolicy:
        """As Client.get_interaction_policy."""
        def build(refs: RosterRefs | None) -> pb.GetInteractionPolicyRequest:
            return _convert.interaction_policy_request(group, item, quoter, author_uri, post_uri, requested_at,
                                                       request_context or {}, refs)
        return _convert.interaction_policy(await self._ask("GetInteractionPolicy", build, timeout, request_id), item)

    async def answer_quote_request(self, group: Group, item: Item, activity: Mapping[str, Any], *,
                                   authorization_base_uri: str, author_uri: str, quoter_is_member: bool = False,
                                   requested_at: _dt.datetime | None = None,
                                   request_context: Mapping[str, str] | None = None, timeout: float | None = None,
                                   request_id: str | None = None) -> QuoteRequestAnswer:
        """As Client.answer_quote_request."""
        def build(refs: RosterRefs | None) -> pb.AnswerQuoteRequestRequest:
            return _convert.quote_request_request(group, item, activity, authorization_base_uri, author_uri,
                                                  quoter_is_member, requested_at, request_context or {}, refs)
        return _convert.quote_request_answer(await self._ask("AnswerQuoteRequest", build, timeout, request_id), item)

    async def recheck_quotes(self, group: Group, item: Item, quotes: Iterable[IssuedQuote], *, author_uri: str,
                             post_uri: str = "", requested_at: _dt.datetime | None = None,
                             request_context: Mapping[str, str] | None = None, timeout: float | None = None,
                             request_id: str | None = None) -> QuoteRecheck:
        """As Client.recheck_quotes."""
        quotes = list(quotes)

        def build(refs: RosterRefs | None) -> pb.RecheckQuotesRequest:
            return _convert.recheck_request(group, item, quotes, author_uri, post_uri, requested_at,
                                            request_context or {}, refs)
        message = build(None)  # what the answer is read against: the quotes as asked
        return _convert.quote_recheck(await self._ask("RecheckQuotes", build, timeout, request_id), message)

    async def list_agreements(self, *, timeout: float | None = None) -> list[AgreementInfo]:
        """Every agreement the server has loaded."""
        response = await self._call("ListAgreements", pb.ListAgreementsRequest(), timeout)
        return _convert.agreements(response)

    async def close(self) -> None:
        """Close every connection; calls made afterwards raise ValueError. Safe to repeat."""
        self._closed = True
        channels, self._channels = self._channels, []
        for channel in channels:
            await channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _next_stub(self) -> PolicyServiceStub:
        if self._closed:
            raise ValueError("the AsyncClient is closed")
        if self._stubs is None:
            # grpc.aio binds a channel to the loop running when it is made.
            self._channels = [self._open_channel() for _ in range(self._settings.channels)]
            self._stubs = RoundRobin([PolicyServiceStub(channel) for channel in self._channels])
        return self._stubs.next()

    def _open_channel(self) -> grpc.aio.Channel:
        settings = self._settings
        if settings.credentials is None:
            return grpc.aio.insecure_channel(settings.target, options=channel_options())
        return grpc.aio.secure_channel(
            settings.target, grpc_credentials(settings.credentials), options=channel_options()
        )

    async def _ask(self, method: str, build: Any, timeout: float | None, request_id: str | None) -> Any:
        """As Client._ask."""
        try:
            return await self._call(method, build(self._rosters.refs()), timeout, request_id)
        except RosterUnknownError as unknown:
            return await self._call(method, build(self._rosters.refs(send=unknown.digests)), timeout, request_id)

    async def _call(self, method: str, message: Any, timeout: float | None, request_id: str | None = None) -> Any:
        deadline = self._settings.deadline(timeout)
        metadata = self._settings.call_metadata(request_id)
        stub = self._next_stub()
        try:
            return await getattr(stub, method)(message, timeout=deadline, metadata=metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
