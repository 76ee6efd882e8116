"""The fixed mix of 20 requests both systems must decide identically, and their wire forms.

One actor (Ana, a member) asks about messages of her own or of Li Chen's. The
three conditions of the policy are each met and missed: quote with and without
attribution, share to public and elsewhere with each label, export of her own
messages and of others'. Discretion lets the author release their own item
whatever the rules say, which Cerbos's policy does not model, so Ana quotes and
shares only Chen's messages; she exports both.

Each system gets the mix in its own wire form, serialized once: the load
generator sends bytes, so building messages costs neither side any time. The
mix also exists as the Python client's requests, to measure what the client
adds. Cerbos's wire form is in cerbos_peer.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

import discretion_client as dc
from discretion.server._gen.discretion.v1 import policy_pb2 as pb

ACTOR = ("u-ana", "Ana Lopez", "Contoso")
OTHER = ("u-chen", "Li Chen", "Northwind Bank")
GROUP = "g-bench"  # bound to the benchmark's agreement in its bindings.yaml
POSTED_AT = dt.datetime(2026, 3, 1, 10, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Case:
    action: str
    destination: str  # a Discretion destination kind; Cerbos gets the same word
    label: str  # sensitivity: clear, internal or confidential
    attribution: bool  # does the quote name the author?
    own: bool  # is Ana the author?
    allowed: bool  # what the policy says, by reading it


MIX: tuple[Case, ...] = (
    Case("quote", "public", "clear", False, False, True),
    Case("quote", "public", "clear", True, False, False),
    Case("quote", "same_group", "confidential", False, False, True),
    Case("quote", "external_individual", "internal", True, False, False),
    Case("quote", "personal_archive", "clear", False, False, True),
    Case("quote", "ai_tool", "confidential", True, False, False),
    Case("share", "public", "clear", False, False, True),
    Case("share", "public", "internal", False, False, False),
    Case("share", "public", "confidential", False, False, False),
    Case("share", "same_group", "confidential", False, False, True),
    Case("share", "community_peer", "internal", False, False, True),
    Case("share", "external_individual", "confidential", True, False, True),
    Case("share", "ai_tool", "clear", False, False, True),
    Case("share", "public", "clear", True, False, True),
    Case("export", "personal_archive", "internal", False, True, True),
    Case("export", "personal_archive", "internal", False, False, False),
    Case("export", "public", "confidential", False, True, True),
    Case("export", "third_party_service", "clear", False, False, False),
    Case("export", "personal_archive", "clear", True, True, True),
    Case("export", "same_group", "clear", False, False, False),
)
assert len(MIX) == 20


# ---- Discretion -------------------------------------------------------------------

def _discretion_check(index: int, case: Case) -> pb.CheckRequest:
    author = ACTOR if case.own else OTHER
    posted_at = Timestamp()
    posted_at.FromDatetime(POSTED_AT)
    return pb.CheckRequest(
        action=pb.Action.Value(f"ACTION_{case.action.upper()}"),
        actor=pb.Actor(id=ACTOR[0], display_name=ACTOR[1], organization=ACTOR[2], member=True),
        group=pb.Group(id=GROUP),
        items=[pb.Item(id=f"m-{index}", posted_at=posted_at,
                       author=pb.Person(id=author[0], display_name=author[1], organization=author[2]),
                       labels=[pb.Label(scheme="sensitivity", value=case.label)])],
        destination=pb.Destination(kind=pb.DestinationKind.Value(f"DESTINATION_KIND_{case.destination.upper()}")),
        attribution=pb.Attribution(author_identity=case.attribution),
    )


def discretion_checks() -> list[pb.CheckRequest]:
    return [_discretion_check(i, case) for i, case in enumerate(MIX)]


def discretion_payloads(batch: int) -> tuple[str, list[bytes]]:
    """(method, serialized requests): one Check per case at batch 1, the whole mix per CheckBatch at 20."""
    checks = discretion_checks()
    if batch == 1:
        return "/discretion.v1.PolicyService/Check", [c.SerializeToString() for c in checks]
    return ("/discretion.v1.PolicyService/CheckBatch",
            [pb.CheckBatchRequest(checks=cycle(checks, batch)).SerializeToString()])


def client_requests() -> list[dc.CheckRequest]:
    """The mix as requests of the Python client (discretion_client)."""
    requests = []
    for index, case in enumerate(MIX):
        author = ACTOR if case.own else OTHER
        requests.append(dc.CheckRequest(
            action=case.action,
            actor=dc.Actor(id=ACTOR[0], display_name=ACTOR[1], organization=ACTOR[2], member=True),
            group=dc.Group(id=GROUP),
            items=[dc.Item(id=f"m-{index}", posted_at=POSTED_AT,
                           author=dc.Person(id=author[0], display_name=author[1], organization=author[2]),
                           labels=[dc.Label("sensitivity", case.label)])],
            destination=dc.Destination(kind=case.destination),
            attribution=dc.Attribution(author_identity=case.attribution),
        ))
    return requests


def discretion_allowed(method: str, answer: bytes) -> list[bool]:
    """Allowed as is (`allow`, no obligations), per check of a serialized answer."""
    if method.endswith("/Check"):
        responses = [pb.CheckResponse.FromString(answer)]
    else:
        responses = list(pb.CheckBatchResponse.FromString(answer).results)
    return [r.decision == pb.DECISION_ALLOW for r in responses]


def discretion_revision(method: str, answer: bytes) -> str:
    if method.endswith("/Check"):
        return pb.CheckResponse.FromString(answer).policy_revision
    return pb.CheckBatchResponse.FromString(answer).results[0].policy_revision


def cycle(values: list, count: int) -> list:
    return [values[i % len(values)] for i in range(count)]
