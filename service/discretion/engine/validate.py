"""What a request must be to be decided: the checks the server and the author tools share.

The server converts a wire message into a Request (server/convert.py), the
author tools read one from a file (policy/requests.py). Both then run the
checks here, so `discretion explain`, `test` and `diff --replay` refuse what a
server answers INVALID_ARGUMENT, naming the same fields with the same words.
What only one of them can get wrong stays with it: an enum number the proto
does not define or a malformed Timestamp with the conversion, a list where
text is expected with the file reader, a `requested_at` beyond the skew with
the server's clock. The size limits of server/limits.py stay the server's,
set per deployment (`--max-items`, …), and so do its string checks (lengths,
control characters), which walk the wire message to name the field.

Each check appends a FieldViolation and goes on, so a caller learns of every
field at fault at once. The server calls the checks of a part of the request
as soon as it has converted that part, so the violations come in the order of
the request's fields; `violations()` runs them all.

Label schemes are read here too (`label_map`), for both: `TLP` and `tlp ` are
one scheme, and a map giving it twice is refused whichever order it arrived in.
"""

from __future__ import annotations

from typing import Iterable

from ..errors import FieldViolation
from .community import FORMS
from .compiled import scheme_key
from .model import Actor, Group, Item, Request, Service

__all__ = ["check_actor", "check_destination", "check_group", "check_items", "label_map", "label_value", "label_word",
           "violations"]

_NO_SERVICE = Service()


def violations(request: Request) -> list[FieldViolation]:
    """Every field of `request` at fault, in the order of the request's fields; [] when it can be decided."""
    problems: list[FieldViolation] = []
    check_actor(request.actor, problems)
    check_group(request.group, problems)
    check_items(request.items, problems)
    check_destination(request, problems)
    return problems


def label_word(text: str) -> str:
    """A label's value or setter as it is matched: trimmed, without case (` AMBER` is `amber`)."""
    return text.strip().lower()


def label_value(scheme: str, value: str) -> str:
    """A label's value as it is read, its scheme already a `scheme_key`: a sharing community's tag or marking as
    received but trimmed, to be stated back as it came (community.py); any other as `label_word`."""
    return value.strip() if scheme in FORMS else label_word(value)


def label_map(entries: Iterable[tuple[str, str]], where: str, problems: list[FieldViolation]) -> dict[str, str]:
    """`scheme -> value` as labels are read: trimmed, without case; a blank or twice-given scheme is refused.

    `TLP` and `tlp ` are one scheme: kept both, which value governs would
    depend on the order of a map, which the wire does not keep.
    """
    read: dict[str, str] = {}
    given: dict[str, str] = {}
    for key, value in sorted(entries):
        scheme = scheme_key(key)
        if not scheme:
            problems.append(FieldViolation(where, f"a blank label scheme `{key}`; name the scheme, e.g. `tlp`"))
        elif scheme in read:
            problems.append(FieldViolation(where, f"`{given[scheme]}` and `{key}` are the same label scheme "
                                                  f"`{scheme}`; give it once"))
        else:
            read[scheme], given[scheme] = label_word(value), key
    return read


def _required(value: str, field: str, what: str, problems: list[FieldViolation]) -> None:
    if not value.strip():
        problems.append(FieldViolation(field, f"required: {what}"))


# ---- the parts of a request -----------------------------------------------------------


def check_actor(actor: Actor, problems: list[FieldViolation]) -> None:
    _required(actor.id, "actor.id", "the id of the person acting", problems)
    if actor.kind == "service":
        # A service acts for the person who installed it and holds no role of its own.
        _required(actor.installed_by, "actor.installed_by", "the id of the person who installed the service",
                  problems)
        if actor.role not in ("member", ""):  # "": a role the wire does not define, refused by the conversion
            problems.append(FieldViolation("actor.role", f"ROLE_{actor.role.upper()}, yet `actor.kind` "
                                           "ACTOR_KIND_SERVICE: a service holds no role of its own; the person "
                                           "who installed it asks in theirs"))
        if actor.organization:
            problems.append(FieldViolation("actor.organization", "given, yet `actor.kind` ACTOR_KIND_SERVICE: a "
                                           "service has no organization of its own (TLP's own-organization "
                                           "audiences are its installer's to reach, asking in their own name)"))
    elif actor.installed_by:
        problems.append(FieldViolation("actor.installed_by", "given, yet `actor.kind` is a person: only a "
                                       "service is installed"))


def check_group(group: Group, problems: list[FieldViolation]) -> None:
    _required(group.id, "group.id", "the id of the group the items were posted in", problems)
    if group.id != group.id.strip() and group.id.strip():
        # `g1 ` is not the group `rules/bindings.yaml` binds as `g1`: read as another, it would escape that floor.
        problems.append(FieldViolation("group.id", f"`{group.id}` has blanks around it; send the id as issued"))
    for index, adoption in enumerate(group.adoptions):
        _required(adoption.agreement, f"group.adoptions[{index}].agreement", "an agreement id loaded from the rules",
                  problems)


def check_items(items: tuple[Item, ...], problems: list[FieldViolation]) -> None:
    if not items:
        problems.append(FieldViolation("items", "required: at least one item"))
    first_index: dict[str, int] = {}  # item id -> where it first appeared
    for index, item in enumerate(items):
        if not item.id.strip():
            problems.append(FieldViolation(f"items[{index}].id", "required: the id of the item"))
        elif item.id in first_index:
            # Each item is judged once; a repeated id would make the per-item
            # results ambiguous to the caller.
            first = first_index[item.id]
            problems.append(FieldViolation(f"items[{index}].id", f"duplicate item id `{item.id}`, first at "
                                                                  f"`items[{first}]`"))
        else:
            first_index[item.id] = index
        for number, label in enumerate(item.labels):
            if not label.scheme:
                # A scheme-less `TLP:RED` has no agreement to read it by; guessing one is not ours to do.
                problems.append(FieldViolation(f"items[{index}].labels[{number}].scheme",
                                               "required: the label's scheme, e.g. `tlp` (`TLP:RED` is scheme "
                                               "`tlp`, value `red`)"))


# ---- destination facts that contradict each other -----------------------------
# A destination's kind decides which rules apply; its other facts are what the
# platform knows about it. When they disagree, the kind is what is doubtful
# (a share outside the group called `same_group`), and reading either one
# would be guessing: the request is refused, naming the fields that disagree.


def check_destination(request: Request, problems: list[FieldViolation]) -> None:
    check = _CONSISTENCY.get(request.destination.kind)
    if check is not None:
        check(request, problems)


def _same_group(request: Request, problems: list[FieldViolation]) -> None:
    destination, group = request.destination, request.group
    kind = "`destination.kind` DESTINATION_KIND_SAME_GROUP"
    if destination.group_id and destination.group_id != group.id:
        problems.append(FieldViolation("destination.group_id", f"`{destination.group_id}` is not `group.id` "
                                       f"`{group.id}`, yet {kind}; another group is DESTINATION_KIND_OTHER_GROUP"))
    if destination.publicly_accessible:
        problems.append(FieldViolation("destination.publicly_accessible", f"true, yet {kind}: what the public can "
                                       "reach is outside the group; send DESTINATION_KIND_PUBLIC"))
    if destination.service != _NO_SERVICE:
        problems.append(FieldViolation("destination.service", f"given, yet {kind}: a service that receives the "
                                       "items is DESTINATION_KIND_THIRD_PARTY_SERVICE or DESTINATION_KIND_AI_TOOL; "
                                       "a service acting in the group is the actor (`actor.kind`)"))
    if destination.recipients:
        members = {p.id for p in group.participants if p.id}
        if request.actor.member and request.actor.id:
            members.add(request.actor.id)
        for index, recipient in enumerate(destination.recipients):
            if recipient.id not in members:
                problems.append(FieldViolation(
                    f"destination.recipients[{index}].id",
                    f"`{recipient.id}` is not among `group.participants`, yet {kind}; a recipient outside the "
                    "group makes it another destination (list the group's participants, or name the kind)"))


def _other_group(request: Request, problems: list[FieldViolation]) -> None:
    if request.destination.group_id and request.destination.group_id == request.group.id:
        problems.append(FieldViolation("destination.group_id", f"`{request.group.id}` is `group.id`, yet "
                                       "`destination.kind` DESTINATION_KIND_OTHER_GROUP; the group the items were "
                                       "posted in is DESTINATION_KIND_SAME_GROUP"))


def _personal_archive(request: Request, problems: list[FieldViolation]) -> None:
    if request.destination.publicly_accessible:
        problems.append(FieldViolation("destination.publicly_accessible", "true, yet `destination.kind` "
                                       "DESTINATION_KIND_PERSONAL_ARCHIVE: an archive the public can reach is a "
                                       "publication; send DESTINATION_KIND_PUBLIC"))


def _original_exchange(request: Request, problems: list[FieldViolation]) -> None:
    party = {pid for item in request.items for pid in item.exchange_participants if pid}
    party.update(p.id for p in request.group.participants if p.id)
    for index, recipient in enumerate(request.destination.recipients):
        if recipient.id not in party:
            problems.append(FieldViolation(
                f"destination.recipients[{index}].id",
                f"`{recipient.id}` was party to no item's exchange (`items[].exchange_participants`) and is not "
                "among `group.participants`, yet `destination.kind` DESTINATION_KIND_ORIGINAL_EXCHANGE_PARTICIPANT"))


def _organization_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _actor_org_internal(request: Request, problems: list[FieldViolation]) -> None:
    own = _organization_key(request.actor.organization)
    for index, recipient in enumerate(request.destination.recipients):
        theirs = _organization_key(recipient.organization)
        if own and theirs and theirs != own:
            problems.append(FieldViolation(
                f"destination.recipients[{index}].organization",
                f"`{recipient.organization}` is not the actor's organization `{request.actor.organization}`, yet "
                "`destination.kind` DESTINATION_KIND_ACTOR_ORG_INTERNAL"))


def _community_peer(request: Request, problems: list[FieldViolation]) -> None:
    community = {_organization_key(o) for o in request.group.community if o.strip()}
    for index, recipient in enumerate(request.destination.recipients):
        theirs = _organization_key(recipient.organization)
        if community and theirs and theirs not in community:
            problems.append(FieldViolation(
                f"destination.recipients[{index}].organization",
                f"`{recipient.organization}` is not in `group.community`, yet `destination.kind` "
                "DESTINATION_KIND_COMMUNITY_PEER"))


_CONSISTENCY = {"same_group": _same_group, "other_group": _other_group, "personal_archive": _personal_archive,
                "original_exchange_participant": _original_exchange, "actor_org_internal": _actor_org_internal,
                "community_peer": _community_peer}
