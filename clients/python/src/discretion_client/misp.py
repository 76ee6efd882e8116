"""Ask before a MISP event leaves: a push to another instance, an export, a third party's enrichment.

MISP holds the labels Discretion reads as machine tags on the event and on
its attributes. This module reads an event in MISP's JSON (as the REST API,
`pymisp` and a Workflow's data give it) into a check: the event is one item,
and each attribute that carries policy tags of its own is another, labelled
with the event's tags and its own, so an export can leave out just that
attribute (`exclude_items` names it by uuid). Only policy tags go: `tlp:`,
`PAP:` and `iep2-policy:`; galaxies, workflow states and every other
namespace say nothing about sharing and stay home.

Where it plugs in: a blocking action module on the Workflow trigger "Event
Publish" (`handler` below, in misp-modules' action-module shape), or any code
before `pymisp` pushes, exports or sends an attribute to an enrichment
service (`check_event`). The event names its creator organization (`Orgc`),
so a push attributes the event to its source unless told otherwise.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ._model import (ActionName, Actor, Attribution, CheckRequest, Decision, Destination, Group, Item, Label,
                     Person, Purpose)

# The namespaces of MISP's taxonomies that set sharing terms: TLP, PAP and FIRST's IEP 2.0.
POLICY_NAMESPACES = ("tlp", "pap", "iep2-policy")


def policy_tags(tags: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """The names of the tags that may set sharing terms, in order, each once; those of another namespace left out.

    Left out only when plainly another namespace's (plain ASCII, naming no policy vocabulary): a tag that
    might be a policy tag in disguise (a Cyrillic `tlр:red`, a zero-width space, fullwidth letters, free text
    such as `TLP RED`) goes to the engine, which reads it or denies the event naming it. A tag dropped here
    would have let the event go unlabelled."""
    names: list[str] = []
    for tag in tags or ():
        tag = tag.get("Tag", tag)  # `EventTag` and `AttributeTag` entries wrap the tag
        name = str(tag.get("name", "")).strip()
        if _may_set_terms(name) and name not in names:
            names.append(name)
    return names


def _may_set_terms(name: str) -> bool:
    if not name.isascii() or not name.isprintable():
        return True
    letters = "".join(c for c in name.lower() if c.isalnum())
    return name.partition(":")[0].strip().lower() in POLICY_NAMESPACES or letters.startswith(("tlp", "pap", "iep"))


def _event(document: Mapping[str, Any]) -> Mapping[str, Any]:
    event = document.get("Event", document)
    if not isinstance(event, Mapping):
        raise ValueError("a MISP event is an object, or one under `Event`")
    return event


def _tags(record: Mapping[str, Any]) -> list[str]:
    return policy_tags([*(record.get("Tag") or ()), *(record.get("EventTag") or ()), *(record.get("AttributeTag") or ())])


def _when(value: Any) -> _dt.datetime | None:
    """A MISP timestamp (POSIX seconds, as text or a number), or None when there is none."""
    try:
        return _dt.datetime.fromtimestamp(int(value), _dt.timezone.utc) if value not in (None, "", "0", 0) else None
    except (TypeError, ValueError, OverflowError):
        return None  # an unreadable time is no time: the engine reads the item as of unknown date


def _labels(tags: Iterable[str], policy: str) -> list[Label]:
    """Tags as labels; an IEP policy's named after the event or attribute it came on, so the engine keeps the
    event's policy and an attribute's own apart (one's dates never end the other)."""
    return [Label("misp", name, params={"policy": policy} if _is_iep(name) else {}) for name in tags]


def _is_iep(tag: str) -> bool:
    return tag.strip().lower().startswith("iep2-policy:")


def event_items(document: Mapping[str, Any]) -> list[Item]:
    """The event as items: itself with its policy tags, then each attribute with policy tags of its own."""
    event = _event(document)
    orgc = event.get("Orgc") or {}
    source = Person(id=str(orgc.get("uuid") or orgc.get("id") or orgc.get("name") or ""),
                    organization=str(orgc.get("name", "")))
    event_tags = _tags(event)
    event_id = str(event.get("uuid", ""))
    items = [Item(id=event_id, author=source, posted_at=_when(event.get("timestamp")),
                  labels=_labels(event_tags, f"event {event_id}"), kind="file")]
    attributes = [*(event.get("Attribute") or ()),
                  *(a for o in event.get("Object") or () for a in o.get("Attribute") or ())]
    for attribute in attributes:
        # An attribute's own IEP tags are its own policy even where they repeat the event's: the event's ending
        # must not end them.
        own = [name for name in _tags(attribute) if name not in event_tags or _is_iep(name)]
        if own:
            attribute_id = str(attribute.get("uuid", ""))
            items.append(Item(id=attribute_id, author=source, posted_at=_when(attribute.get("timestamp")),
                              labels=[*_labels(event_tags, f"event {event_id}"),
                                      *_labels(own, f"attribute {attribute_id}")], kind="file"))
    return items


def check_event(document: Mapping[str, Any], *, actor: Actor, group: Group, destination: Destination,
                action: ActionName = "share", purpose: Purpose | None = None,
                attribution: Attribution | None = None) -> CheckRequest:
    """The check for doing `action` with the event toward `destination`. The event names its creator
    organization, so unless `attribution` says otherwise the source's identity and affiliation go with it."""
    return CheckRequest(action=action, actor=actor, group=group, items=event_items(document),
                        destination=destination, purpose=purpose,
                        attribution=attribution if attribution is not None else Attribution(author_identity=True,
                                                                                            affiliation=True))


@dataclass(frozen=True)
class Verdict:
    """What a blocking step does with an answer: go on only when nothing is left for MISP to do."""

    proceed: bool
    answer: Decision
    message: str


def verdict(answer: Decision, *, obligations_enforced: bool = False) -> Verdict:
    """A Workflow cannot redact or restate a label by itself: an answer that owes something blocks unless the
    caller says it performs what is owed."""
    if answer.decision == "deny":
        return Verdict(False, answer, answer.reason)
    if answer.decision == "allow_with_obligations" and not obligations_enforced:
        owed = ", ".join(sorted({o.type for o in answer.obligations}))
        return Verdict(False, answer, f"allowed only with obligations this step does not perform ({owed}): "
                                      f"{answer.reason}")
    return Verdict(True, answer, answer.reason)


# ---- a misp-modules action module -----------------------------------------------------------------------

moduleinfo = {"version": "1", "author": "Discretion", "module-type": ["action"],
              "description": "Blocks publishing (and the pushes that follow) unless the group's agreement "
                             "allows the event to go where it is going."}
moduleconfig = {
    "params": {
        "server": {"type": "string", "description": "the Discretion server, host:port", "value": "127.0.0.1:50051"},
        "group": {"type": "string", "description": "the sharing community as a Discretion group, JSON "
                                                   "(`{\"id\": …, \"adoptions\": [{\"agreement\": \"tlp\"}]}`)"},
        "actor": {"type": "string", "description": "who publishes, JSON (`{\"id\": …, \"organization\": …}`)"},
        "destination": {"type": "string", "description": "where publishing sends it, JSON "
                                                         "(`{\"kind\": \"community_peer\", \"recipients\": […]}`)"},
        "purpose": {"type": "string", "description": "why it is sent, JSON (`{\"need_to_know\": true, \"use\": "
                                                     "\"lookup\"}`); none said reads as the most invasive use",
                    "value": "{}"},
        "obligations_enforced": {"type": "string", "description": "`yes` when later steps perform obligations",
                                 "value": "no"},
    },
    "blocking": True,
    "support_filters": False,
    "expect_misp_core_format": True,
}


def introspection() -> dict[str, Any]:
    return {"hooks": ["publish"], "blocking": True}


def version() -> dict[str, Any]:
    return {**moduleinfo, "config": moduleconfig}


def handler(q: str | bytes | bool = False, *, client: Any = None) -> dict[str, Any] | bool:
    """misp-modules' entry point: `{"data": true}` lets the publish go on, `{"data": false}` stops it.

    Anything that keeps the question from being asked or answered — settings
    that do not read, an event that is not one, a server that does not answer
    — stops it too, with the reason: a leak is not undone."""
    if isinstance(q, bool):
        return False
    try:
        request = json.loads(q)
        params = request.get("params") or {}
        check = check_event(request["data"], actor=_actor(params["actor"]), group=_group(params["group"]),
                            destination=_destination(params["destination"]),
                            purpose=Purpose(**_json(params.get("purpose") or "{}")))
        if client is None:
            from . import Client

            with Client(params.get("server") or "127.0.0.1:50051") as own:
                answer = own.check(check)
        else:
            answer = client.check(check)
        enforced = str(params.get("obligations_enforced", "no")).strip().lower() in ("yes", "true", "1")
        outcome = verdict(answer, obligations_enforced=enforced)
        return {"data": outcome.proceed, "message": outcome.message}
    except Exception as error:  # noqa: BLE001 — whatever failed, nothing leaves
        return {"data": False, "message": f"not checked, so not published: {type(error).__name__}: {error}"}


def _json(text: Any) -> Mapping[str, Any]:
    value = json.loads(text) if isinstance(text, (str, bytes)) else text
    if not isinstance(value, Mapping):
        raise ValueError("expected a JSON object")
    return value


def _actor(text: Any) -> Actor:
    return Actor(**{"member": True, **_json(text)})


def _group(text: Any) -> Group:
    from ._model import Adoption

    data = dict(_json(text))
    data["adoptions"] = [Adoption(**a) for a in data.get("adoptions") or ()]
    data["participants"] = [Person(**p) for p in data.get("participants") or ()]
    return Group(**data)


def _destination(text: Any) -> Destination:
    from ._model import Recipient, Service

    data = dict(_json(text))
    data["recipients"] = [Recipient(**r) for r in data.get("recipients") or ()]
    if data.get("service") is not None:
        data["service"] = Service(**data["service"])
    return Destination(**data)


__all__ = ["POLICY_NAMESPACES", "Verdict", "check_event", "event_items", "handler", "introspection", "policy_tags",
           "verdict", "version"]
