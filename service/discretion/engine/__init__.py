"""The engine: the compiled policy, the request model and `decide()`. Standard library only."""

from .compiled import AgreementInfo, CompiledPolicy, VersionInfo
from .decide import decide
from .model import (
    Actor, Adoption, Attribution, Consent, Decision, Destination, Finding, Group, Item, ItemResult, Label,
    Obligation, Person, Purpose, Recipient, Request, Service, Session, Span,
)

__all__ = [
    "Actor", "Adoption", "AgreementInfo", "Attribution", "CompiledPolicy", "Consent", "Decision", "Destination",
    "Finding", "Group", "Item", "ItemResult", "Label", "Obligation", "Person", "Purpose", "Recipient", "Request",
    "Service", "Session", "Span", "VersionInfo", "decide",
]
