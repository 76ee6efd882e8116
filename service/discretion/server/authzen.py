"""The OpenID AuthZEN 1.0 evaluation API, for gateways that ask "may this subject do this action on this resource".

An AuthZEN request becomes one CheckRequest (a batch for `evaluations`) and is
answered by the servicer's own Check and CheckBatch, so tenants, limits, the
decision log and the decision ids are the gRPC path's:

    AuthZEN                       CheckRequest
    subject.id                    actor.id
    subject.type                  actor.kind: `user` (a person) or `service`
    subject.properties.*          actor.* (displayName, organization, role, member, joinedAt, installedBy)
    action.name                   action: `share`, `quote` or `export`
    resource.type, resource.id    `group`, and group.id
    resource.properties.items     items
    resource.properties.*         group.* (adoptions, participants, community, privacy, visibility, convertedAt)
    context.*                     destination, attribution, quotedText, format, derived, purpose, attributes,
                                  requestContext, spanUnit
    context.enforcesObligations   (read here only; see below)

AuthZEN's `decision` is a boolean: `allow` is true, `deny` false, and
`allow_with_obligations` **false** unless the request's context says
`"enforcesObligations": true`: a gateway that ignores the response's context
must never pass content on unredacted. The response's context carries what
Discretion said (`decision`, `decisionId`, `obligations`, `reason`,
`policyRevision`) whatever the boolean.

A refused request is an HTTP error with a `google.rpc.Status` body, whose
field violations name the CheckRequest field the AuthZEN field maps to
(`actor.id` for `subject.id`). A key this does not map (anywhere: the top,
`subject`, `action`, `resource`, `context`, `options`), a key given twice, or a
value of the wrong type is refused: a fact ignored could loosen the answer.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import json_format

from ._gen.discretion.v1 import policy_pb2 as pb
from .call import PlainCall, refusal
from .http import Route, as_json, within

if TYPE_CHECKING:
    from .servicer import PolicyServicer

__all__ = ["authzen_routes"]

EVALUATION = "/access/v1/evaluation"
EVALUATIONS = "/access/v1/evaluations"
CONFIGURATION = "/.well-known/authzen-configuration"

_SUBJECT_TYPES = {"user": "ACTOR_KIND_PERSON", "service": "ACTOR_KIND_SERVICE"}
_ACTIONS = {"share": "ACTION_SHARE", "quote": "ACTION_QUOTE", "export": "ACTION_EXPORT"}
_ACTOR = {"displayName", "organization", "role", "member", "joinedAt", "installedBy"}
_GROUP = {"adoptions", "participants", "community", "privacy", "visibility", "convertedAt"}
_CONTEXT = {"destination", "attribution", "quotedText", "format", "derived", "purpose", "attributes",
            "requestContext", "spanUnit", "enforcesObligations"}
_SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
_EVALUATION = {"subject", "action", "resource", "context"}
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")


def authzen_routes(servicer: PolicyServicer, max_bytes: int) -> dict[tuple[str, str], Route]:
    def evaluation(body: bytes, call: PlainCall) -> dict:
        request = _object(body)
        _only(request, _EVALUATION, "")
        return _evaluate(request, call)

    def _evaluate(request: dict, call: PlainCall) -> dict:
        check, enforces = _check(request, "")
        response = pb.CheckResponse.FromString(_bytes(servicer.Check(within(check.SerializeToString(), max_bytes),
                                                                     call)))
        return _evaluated(response, enforces)

    def evaluations(body: bytes, call: PlainCall) -> dict:
        request = _object(body)
        _only(request, _EVALUATION | {"evaluations", "options"}, "")
        listed = request.get("evaluations")
        options = request.get("options", {})
        if not isinstance(options, dict):
            raise _invalid("options", "expected an object")
        _only(options, {"evaluations_semantic"}, "options.")
        semantic = options.get("evaluations_semantic", "execute_all")
        if semantic not in _SEMANTICS:
            raise _invalid("options.evaluations_semantic", f"one of {', '.join(_SEMANTICS)}")
        if listed is None or listed == []:  # no evaluations: the request is one evaluation (AuthZEN 1.0 §7.1)
            return {"evaluations": [_evaluate({k: v for k, v in request.items() if k in _EVALUATION}, call)]}
        if not isinstance(listed, list) or not all(isinstance(one, dict) for one in listed):
            raise _invalid("evaluations", "expected a list of objects")
        defaults = {key: request[key] for key in _EVALUATION if key in request}
        checks, enforcing = [], []
        for index, one in enumerate(listed):
            _only(one, _EVALUATION, f"evaluations[{index}].")
            # Each part an evaluation names replaces the default's whole (AuthZEN 1.0 §7.1), `context` included:
            # its `enforcesObligations` is the evaluation's own.
            check, enforces = _check({**defaults, **one}, f"evaluations[{index}].")
            checks.append(check)
            enforcing.append(enforces)
        batch = within(pb.CheckBatchRequest(checks=checks).SerializeToString(), max_bytes)
        results = pb.CheckBatchResponse.FromString(_bytes(servicer.CheckBatch(batch, call))).results
        answered = []
        for result, enforces in zip(results, enforcing, strict=True):
            answered.append(_evaluated(result, enforces))
            # The evaluations up to the first deny (or permit) are the answer; the batch decided them all at once.
            if (semantic == "deny_on_first_deny" and not answered[-1]["decision"]) or \
                    (semantic == "permit_on_first_permit" and answered[-1]["decision"]):
                break
        return {"evaluations": answered}

    def configuration(body: bytes, call: PlainCall) -> dict:
        base = _base(call)
        return {"policy_decision_point": base, "access_evaluation_endpoint": base + EVALUATION,
                "access_evaluations_endpoint": base + EVALUATIONS}

    return {("POST", EVALUATION): evaluation, ("POST", EVALUATIONS): evaluations,
            ("GET", CONFIGURATION): configuration}


def _bytes(answer: Any) -> bytes:
    return answer if isinstance(answer, bytes) else answer.SerializeToString()


def _invalid(field: str, description: str):
    return refusal(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {description}", [(field, description)])


def _only(part: dict, allowed: set[str], where: str) -> None:
    """Refuse a key this does not map: a fact ignored could loosen the answer."""
    unknown = sorted(set(part) - allowed)
    if unknown:
        raise _invalid(where + unknown[0], f"not a field this maps; one of {', '.join(sorted(allowed))}")


def _unique(pairs: list[tuple[str, Any]]) -> dict:
    found: dict = {}
    for key, value in pairs:
        if key in found:  # which one a reader keeps differs between readers: neither is taken
            raise _invalid(key, "given twice")
        found[key] = value
    return found


def _object(body: bytes) -> dict:
    try:
        found = json.loads(body.decode("utf-8"), object_pairs_hook=_unique)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise _invalid("", f"the body is not JSON ({error})") from None
    if not isinstance(found, dict):
        raise _invalid("", "expected a JSON object")
    return found


def _part(request: dict, name: str, where: str) -> dict:
    part = request.get(name)
    if not isinstance(part, dict):
        raise _invalid(where + name, "expected an object")
    return part


def _properties(part: dict, where: str, allowed: set[str]) -> dict:
    properties = part.get("properties", {})
    if not isinstance(properties, dict):
        raise _invalid(where + ".properties", "expected an object")
    unknown = sorted(set(properties) - allowed)
    if unknown:
        raise _invalid(f"{where}.properties.{unknown[0]}", f"not a field this maps; one of {', '.join(sorted(allowed))}")
    return properties


def _check(request: dict, where: str) -> tuple[pb.CheckRequest, bool]:
    """The CheckRequest an AuthZEN evaluation asks, and whether its caller enforces obligations."""
    subject = _part(request, "subject", where)
    action = _part(request, "action", where)
    resource = _part(request, "resource", where)
    context = request.get("context", {})
    if not isinstance(context, dict):
        raise _invalid(where + "context", "expected an object")
    _only(subject, {"type", "id", "properties"}, where + "subject.")
    _only(action, {"name"}, where + "action.")  # AuthZEN's action.properties: nothing here reads them
    _only(resource, {"type", "id", "properties"}, where + "resource.")
    kind = _SUBJECT_TYPES.get(subject.get("type")) if isinstance(subject.get("type"), str) else None
    if kind is None:
        raise _invalid(where + "subject.type", "`user` or `service`")
    name = _ACTIONS.get(action.get("name")) if isinstance(action.get("name"), str) else None
    if name is None:
        raise _invalid(where + "action.name", "`share`, `quote` or `export`")
    for field, value in (("subject.id", subject.get("id", "")), ("resource.id", resource.get("id", ""))):
        if not isinstance(value, str):
            raise _invalid(where + field, "expected a string")
    if resource.get("type") != "group":
        raise _invalid(where + "resource.type", "`group`: the resource is the group whose items are acted on")
    actor = {"id": subject.get("id", ""), "kind": kind, **_properties(subject, where + "subject", _ACTOR)}
    group_properties = dict(_properties(resource, where + "resource", _GROUP | {"items"}))  # shared by evaluations
    items = group_properties.pop("items", [])
    group = {"id": resource.get("id", ""), **group_properties}
    unknown = sorted(set(context) - _CONTEXT)
    if unknown:
        raise _invalid(f"{where}context.{unknown[0]}", f"not a field this maps; one of {', '.join(sorted(_CONTEXT))}")
    enforces = context.get("enforcesObligations", False)
    if not isinstance(enforces, bool):
        raise _invalid(where + "context.enforcesObligations", "true or false")
    fields = {key: value for key, value in context.items() if key != "enforcesObligations"}
    check = {"action": name, "actor": actor, "group": group, "items": items, **fields}
    try:
        return json_format.ParseDict(check, pb.CheckRequest(), ignore_unknown_fields=False), enforces
    except (json_format.ParseError, RecursionError) as error:
        raise refusal(grpc.StatusCode.INVALID_ARGUMENT, f"{where or 'the evaluation'} does not map to a "
                      "CheckRequest", [(where, str(error) or type(error).__name__)]) from None


def _evaluated(response: pb.CheckResponse, enforces: bool) -> dict:
    """AuthZEN's answer: a boolean, and Discretion's own in the context. An allow with obligations is true
    only for a caller that said it enforces them."""
    decision = response.decision
    allowed = decision == pb.DECISION_ALLOW or (decision == pb.DECISION_ALLOW_WITH_OBLIGATIONS and enforces)
    said = as_json(response)
    context = {"decision": pb.Decision.Name(decision).removeprefix("DECISION_").lower(),
               "decisionId": response.decision_id, "reason": response.reason,
               "policyRevision": response.policy_revision, "obligations": said.get("obligations", []),
               "items": said.get("items", [])}
    return {"decision": allowed, "context": context}


def _base(call: PlainCall) -> str:
    """This service's URL as the caller reached it (the Host it asked for)."""
    headers = dict(call.invocation_metadata())
    scheme = "https" if call.secure or headers.get("x-forwarded-proto") == "https" else "http"
    host = headers.get("host", "")
    # Only a host name or address, with a port: what a client is told to call is never a caller's free text.
    return f"{scheme}://{host if _HOST.fullmatch(host) else 'localhost'}"
