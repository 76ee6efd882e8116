"""PolicyService: each method converts in, decides, converts out.

Every call reads the clock once and the policy once (`holder.current`), so a
reload mid-call never changes the rules under a decision, and every entry of a
batch is judged by the same rules at the same instant.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import grpc

from ..engine import decide
from ..engine.compiled import CompiledPolicy
from . import convert
from ._gen.discretion.v1 import policy_pb2, policy_pb2_grpc
from .status import NoPolicyLoaded, translate_errors

if TYPE_CHECKING:
    from ..store import PolicyHolder
    from .app import ServerSettings

__all__ = ["PolicyServicer"]


class PolicyServicer(policy_pb2_grpc.PolicyServiceServicer):
    def __init__(self, holder: PolicyHolder, settings: ServerSettings):
        self._holder = holder
        self._max_batch = settings.max_batch

    def _policy(self) -> CompiledPolicy:
        policy = self._holder.current
        if policy is None:
            raise NoPolicyLoaded()
        return policy

    @translate_errors
    def Check(self, request: policy_pb2.CheckRequest, context: grpc.ServicerContext) -> policy_pb2.CheckResponse:
        now = time.time()
        facts = convert.request_from_proto(request)
        decision = decide(self._policy(), facts, now=now, tracer=_tracer(request))
        return convert.response_to_proto(decision, explain=request.explain)

    @translate_errors
    def CheckBatch(
        self, request: policy_pb2.CheckBatchRequest, context: grpc.ServicerContext
    ) -> policy_pb2.CheckBatchResponse:
        now = time.time()
        batch = convert.requests_from_batch(request, self._max_batch)
        policy = self._policy()
        return policy_pb2.CheckBatchResponse(
            results=[
                convert.response_to_proto(
                    decide(policy, facts, now=now, tracer=_tracer(check)), explain=check.explain
                )
                for facts, check in zip(batch, request.checks)
            ]
        )

    @translate_errors
    def ListAgreements(
        self, request: policy_pb2.ListAgreementsRequest, context: grpc.ServicerContext
    ) -> policy_pb2.ListAgreementsResponse:
        policy = self._policy()
        return convert.agreements_to_proto(policy.agreements, policy.revision)


def _tracer(check: policy_pb2.CheckRequest) -> list[str] | None:
    """A trace to record only when the caller asked to `explain`: tracing costs on the hot path."""
    return [] if check.explain else None
