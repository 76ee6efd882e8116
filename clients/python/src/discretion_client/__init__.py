"""Client of the Discretion policy service.

Build a request from the plain types here, ask a Client (or AsyncClient), act
on the Decision::

    from discretion_client import Actor, CheckRequest, Client, Destination, Group, Item

    with Client("127.0.0.1:50051") as client:
        decision = client.check(CheckRequest(
            action="quote",
            actor=Actor(id="u1", member=True),
            group=Group(id="g1"),
            items=[Item(id="m1")],
            destination=Destination(kind="public"),
        ))
    if decision.allowed:
        ...

Nothing here exposes gRPC or protobuf types; the errors raised are listed in
`discretion_client._errors`.
"""

from ._aio import AsyncClient
from ._channel import TlsCredentials
from ._client import Client
from ._local import LocalEngine
from ._errors import (
    DeadlineExceededError,
    DiscretionError,
    FieldViolation,
    InvalidRequestError,
    PermissionDeniedError,
    ServerError,
    UnauthenticatedError,
    UnavailableError,
    UnexpectedAnswerError,
)
from ._model import (
    Actor,
    Adoption,
    AgreementInfo,
    AgreementVersion,
    Attribution,
    CheckRequest,
    Consent,
    Decision,
    Destination,
    DetachedQuote,
    Finding,
    Group,
    InteractionPolicy,
    IssuedQuote,
    Item,
    ItemResult,
    Label,
    Obligation,
    Person,
    Purpose,
    QuoteRecheck,
    QuoteRequestAnswer,
    Quoter,
    Recipient,
    Service,
    Session,
    Span,
)

__all__ = [
    # clients
    "AsyncClient",
    "Client",
    "LocalEngine",
    "TlsCredentials",
    # requests
    "Actor",
    "Adoption",
    "Attribution",
    "CheckRequest",
    "Consent",
    "Destination",
    "Group",
    "Item",
    "Label",
    "Person",
    "Purpose",
    "Quoter",
    "Recipient",
    "Service",
    "Session",
    # results
    "AgreementInfo",
    "AgreementVersion",
    "Decision",
    "Finding",
    "InteractionPolicy",
    "ItemResult",
    "QuoteRequestAnswer",
    "QuoteRecheck",
    "DetachedQuote",
    "IssuedQuote",
    "Obligation",
    "Span",
    # errors
    "DeadlineExceededError",
    "DiscretionError",
    "FieldViolation",
    "InvalidRequestError",
    "PermissionDeniedError",
    "ServerError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnexpectedAnswerError",
]
