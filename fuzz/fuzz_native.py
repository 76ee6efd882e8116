"""Coverage-guided differential fuzzing of the native engine against the Python reference.

Every request must be answered by the native engine (`discretion_native`) as
the Python server answers it: the same refusal, field by field, or the same
decision and the same CheckResponse. The first byte, modulo 3, chooses what
the rest is:

- 0: the rest is the wire bytes of a CheckRequest, as a caller may send anything;
- 1: the rest drives a request built from the shipped rules' words (actions,
  destinations, labels, agreements, people, instants near now), sent as bytes;
- 2: a rule file of its own (two bytes of length, then the file) compiled
  beside the platform baseline, and a few such requests decided under it.

A disagreement raises with both answers, and writes the request beside the
artifact as a request file `discretion explain` reads (with the rule file,
in policy mode, in a folder `--rules` reads).

Its quotient by 3 chooses the server's clock: even, a `requested_at` more
than SKEW from NOW is refused; odd (what-if and replay), it is the instant
decided at. The seed corpus (`--seeds DIR` writes it) holds each suite case
as wire bytes, decided at the instant it states.

    .venv/bin/python fuzz/fuzz_native.py fuzz/corpus/native -max_total_time=60

With FUZZ_NATIVE_KEEP_GOING=1 a disagreement is written out and printed, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import sys
import typing

import atheris

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "service"))

with atheris.instrument_imports(include=["discretion"]):
    import discretion_native

    from discretion.compile import lower_documents
    from discretion.engine import decide, model
    from discretion.engine.build import build_policy
    from discretion.engine.instants import SECOND, to_iso
    from discretion.errors import PolicyError, RequestInvalid
    from discretion.server import convert, limits, servicer
    from discretion.server._gen.discretion.v1 import policy_pb2 as pb
    from discretion.store.files import lower_directory

NOW = 1_800_000_000 * SECOND
SKEW = 300 * SECOND
LIMITS = limits.Limits()
NATIVE_LIMITS = dataclasses.asdict(LIMITS)

SHIPPED = lower_directory(ROOT / "rules")
SHIPPED_ENGINES = (build_policy(SHIPPED), discretion_native.Engine(SHIPPED.SerializeToString()))
ADOPTABLE = sorted(a.id for a in SHIPPED.agreements if not a.platform_wide)
BASE = (ROOT / "rules" / "platform-baseline.yaml").read_bytes()

RAW, STRUCTURED, POLICY = range(3)
# request_context's keys and values: ids, and what both engines must refuse alike (text, controls, too much).
CONTEXT_WORDS = ["route", "client", "job-7", "", " ", "Ré", "a\nb", "\x7f", "\u2028", "x" * 600, "y" * 1025,
                 "ok\tno", "\U0001f600"]
# For a long run: each disagreement is written out and printed, and the run goes on to find the next.
KEEP_GOING = bool(os.environ.get("FUZZ_NATIVE_KEEP_GOING"))
_SEEN: set[tuple] = set()  # the disagreements printed, so that one found again is not printed again

# ---- the words of the shipped rules, and a few beside them -----------------------------------

ORGS = ["Northwind Bank", "Contoso", "Acme CERT", "", "contoso "]
PEOPLE = [model.Person(id=f"u{i}", display_name=name, organization=ORGS[i % 3], is_minor=(i == 3),
                       aliases=(alias,) if alias else ())
          for i, (name, alias) in enumerate([("Li Chen", "LC"), ("Ana Lopez", ""), ("Sam Okafor", "Sam"),
                                             ("Kim Young", ""), ("", "")])]
LABELS = [("tlp", v) for v in ("red", "amber+strict", "amber", "green", "clear", "white", "purple", " AMBER")] + [
    ("press", v) for v in ("on_record", "background", "deep_background", "off_record")] + [
    ("flag", "no_sharing"), ("embargo", "until"), ("TLP", "green"), ("unknown", "x"), ("", "")]
SETTERS = ["", "author", "admin", "platform", "u1", "moderator"]
SCOPES = sorted({*model.CONSENT_SCOPES, *(s.name for s in SHIPPED.consent_scopes), "", "nonsense"})
TEXTS = ["", "as Chen said", "At Contoso we think", "Kim Young from Acme CERT spoke", "Ana Lopez and Sam Okafor",
         "LC: é\u0301 😀 Li\u00a0Chen", "Sam said SAM said sam"]
PARAMS = [{}, {"until": "2027-01-01T00:00:00Z", "descriptor": "an official"}, {"until": "tomorrow"},
          {"until": "2020-01-01T00:00:00+01:00"}]
SEGMENTS = ["", "discussion", "Discussion ", "q&a"]
# Instants around now, and the ends of what a request may carry.
OFFSETS = [None, 0, -1, 1, -5, -10, -100, -500, -1000, 10, 1000, -10**6]
COHERENT_OFFSETS = [o for o in OFFSETS if o is None or o <= 10]  # the server refuses what is posted later


def _instant(fdp: atheris.FuzzedDataProvider) -> int | None:
    offset = fdp.PickValueInList(COHERENT_OFFSETS)
    return None if offset is None else NOW + offset * SECOND + fdp.ConsumeIntInRange(0, 2) * 500_000_000


def _pick(fdp: atheris.FuzzedDataProvider, words):
    return fdp.PickValueInList(list(words))


def _some(fdp: atheris.FuzzedDataProvider, most: int, make) -> tuple:
    return tuple(make(fdp) for _ in range(fdp.ConsumeIntInRange(0, most)))


def _label(fdp: atheris.FuzzedDataProvider) -> model.Label:
    scheme, value = _pick(fdp, LABELS)
    return model.Label(scheme, value, set_by=_pick(fdp, SETTERS), set_at=_instant(fdp), params=_pick(fdp, PARAMS))


def _consent(fdp: atheris.FuzzedDataProvider) -> model.Consent:
    return model.Consent(by=_pick(fdp, ["u0", "u1", "u2", ""]), scope=_pick(fdp, SCOPES),
                         recipients=_pick(fdp, [(), ("r0",), ("r0", "r1")]), granted_at=_instant(fdp),
                         withdrawn_at=_instant(fdp))


def _item(fdp: atheris.FuzzedDataProvider, index: int) -> model.Item:
    return model.Item(
        id=_pick(fdp, [f"i{index}", f"i{index}", "i0", ""]), author=_pick(fdp, PEOPLE), posted_at=_instant(fdp),
        retracted_at=_instant(fdp), labels=_some(fdp, 3, _label), consents=_some(fdp, 2, _consent),
        text=_pick(fdp, TEXTS), kind=_pick(fdp, model.ITEM_KINDS),
        listed_people=_pick(fdp, [(), tuple(PEOPLE[:2]), tuple(PEOPLE)]),
        session=model.Session(id=_pick(fdp, ["", "s1"]), segment=_pick(fdp, SEGMENTS),
                              speaker_count=fdp.ConsumeIntInRange(0, 3)),
        exchange_participants=_pick(fdp, [(), ("u0", "u1"), ("u2",)]),
        conversation=_pick(fdp, ["", "c1"]), link=_pick(fdp, ["", "https://example.org/m/1"]))


def _adoption(fdp: atheris.FuzzedDataProvider, agreements: list[str]) -> model.Adoption:
    return model.Adoption(
        _pick(fdp, agreements), version=fdp.ConsumeIntInRange(0, 3), effective_from=_instant(fdp),
        disclosed_at=_instant(fdp), replaces=_pick(fdp, [(), tuple(agreements[:1])]),
        segments=_pick(fdp, [(), ("discussion",), ("Q&A",)]),
        default_labels=_pick(fdp, [{}, {"tlp": "amber"}, {"press": "background"}]),
        label_floors=_pick(fdp, [{}, {"tlp": "green"}, {"tlp": "red"}]))


def structured_request(fdp: atheris.FuzzedDataProvider, agreements: list[str]) -> model.Request:
    """A request in the rules' words, as `tests/strategies.py` draws them but wider: most made coherent, so that
    the server reads them and they reach the rules; the others as drawn, to be refused."""
    request = _drawn_request(fdp, agreements)
    return _coherent(request) if fdp.ConsumeIntInRange(0, 7) else request


def _coherent(request: model.Request) -> model.Request:
    """The request with the facts engine/validate.py refuses as contradictory put right."""
    replace = dataclasses.replace
    actor = request.actor
    if actor.kind == "service":
        actor = replace(actor, role="member", organization="", installed_by=actor.installed_by or "u0")
    else:
        actor = replace(actor, installed_by="")
    items = tuple(replace(item, id=f"i{index}", labels=tuple(label for label in item.labels if label.scheme))
                  for index, item in enumerate(request.items)) or (model.Item(id="i0", author=PEOPLE[0]),)
    group = replace(request.group, id=request.group.id or "g")
    destination = request.destination
    kind = destination.kind
    if kind == "same_group":
        destination = replace(destination, group_id="", publicly_accessible=False, service=model.Service(),
                              recipients=())
    elif kind == "other_group":
        destination = replace(destination, group_id="g2")
    elif kind == "personal_archive":
        destination = replace(destination, publicly_accessible=False)
    elif kind == "original_exchange_participant":
        destination = replace(destination, recipients=())
    elif kind == "actor_org_internal":
        destination = replace(destination, recipients=tuple(replace(r, organization=actor.organization)
                                                            for r in destination.recipients))
    elif kind == "community_peer":
        destination = replace(destination, recipients=tuple(replace(r, organization=(group.community or ("",))[0])
                                                            for r in destination.recipients))
    requested_at = request.requested_at if request.requested_at is None or request.requested_at <= NOW else NOW
    return replace(request, actor=actor, items=items, group=group, destination=destination,
                   requested_at=requested_at)


def _drawn_request(fdp: atheris.FuzzedDataProvider, agreements: list[str]) -> model.Request:
    actor = _pick(fdp, PEOPLE)
    recipients = tuple(model.Recipient(id=f"r{i}", organization=_pick(fdp, ORGS + ["Elsewhere"]))
                       for i in range(fdp.ConsumeIntInRange(0, 2)))
    maybe = [None, True, False]
    return model.Request(
        action=_pick(fdp, model.ACTIONS),
        actor=model.Actor(id=actor.id, display_name=actor.display_name, organization=actor.organization,
                          role=_pick(fdp, model.ROLES), member=fdp.ConsumeBool(), joined_at=_instant(fdp),
                          kind=_pick(fdp, model.ACTOR_KINDS), installed_by=_pick(fdp, ["", "u0"])),
        group=model.Group(id=_pick(fdp, ["g", "g-bound-example", ""]), privacy=_pick(fdp, model.PRIVACIES),
                          visibility=_pick(fdp, model.VISIBILITIES),
                          adoptions=tuple(_adoption(fdp, agreements) for _ in range(fdp.ConsumeIntInRange(0, 3))),
                          participants=_pick(fdp, [(), tuple(PEOPLE[:3]), tuple(PEOPLE)]),
                          community=_pick(fdp, [(), tuple(ORGS[:2])]), converted_at=_instant(fdp)),
        items=tuple(_item(fdp, i) for i in range(fdp.ConsumeIntInRange(0, 3))),
        destination=model.Destination(
            kind=_pick(fdp, model.DESTINATION_KINDS), recipients=recipients, channel=_pick(fdp, ["", "#ops"]),
            group_id=_pick(fdp, ["", "g", "g2"]), publicly_accessible=fdp.ConsumeBool(),
            service=model.Service(name=_pick(fdp, ["", "Summarizer"]), organization=_pick(fdp, ORGS),
                                  may_train=_pick(fdp, maybe), retains=_pick(fdp, maybe),
                                  new_controller=_pick(fdp, maybe))),
        requested_at=_pick(fdp, [None, NOW, NOW - 10 * SECOND, NOW + 400 * SECOND]),
        attribution=model.Attribution(author_identity=fdp.ConsumeBool(), affiliation=fdp.ConsumeBool(),
                                      descriptor=_pick(fdp, ["", "a banker"]), link=fdp.ConsumeBool()),
        format=_pick(fdp, model.FORMATS), derived=_pick(fdp, model.DERIVATIONS), quoted_text=_pick(fdp, TEXTS),
        purpose=model.Purpose(need_to_know=fdp.ConsumeBool(), legal_basis=_pick(fdp, model.LEGAL_BASES),
                              notification_prohibited=fdp.ConsumeBool()),
        attributes=_pick(fdp, [{}, {"tier": 2}, {"tier": "gold", "flags": [True, None, 1.5]}]),
        span_unit=_pick(fdp, model.SPAN_UNITS))


# ---- the two engines -------------------------------------------------------------------------

def _plain(value):
    """asdict's tuples as lists: the native hooks give lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def python_read(data: bytes, skew: int | None) -> tuple[bool, object, model.Request | None]:
    """As servicer._check reads the bytes: (True, asdict, the request) or (False, violations, None)."""
    try:
        message = servicer._read(pb.CheckRequest, data)
        limits.check_request(message, LIMITS)
        facts = convert.request_from_proto(message, convert.Clock(NOW, skew))
        limits.check_strings(message, facts, LIMITS)
    except RequestInvalid as error:
        return False, [(v.field, v.description) for v in error.violations], None
    return True, _plain(dataclasses.asdict(facts)), facts


def native_read(data: bytes, skew: int | None) -> tuple[bool, object]:
    ok, read = discretion_native.read_check(data, NOW, skew, NATIVE_LIMITS)
    return ok, (read if ok else [tuple(v) for v in read])


class Disagreement(AssertionError):
    """The two engines answered the same request differently."""


def compare(data: bytes, engines, skew: int | None, rules: list[tuple[str, bytes]] | None = None) -> None:
    """Both engines on the bytes `data`: the same refusal, or the same decision and response."""
    reference, native = engines
    ok, read, facts = python_read(data, skew)
    native_answer = native_read(data, skew)
    if native_answer != (ok, read):
        report("read", data, (ok, read), native_answer, rules, facts)
        return
    if not ok:
        return
    # What the decision log records of the check: the caller's context as both engines read it.
    logged = native.decode_check(data).request_contexts
    wanted = [sorted(pb.CheckRequest.FromString(data).request_context.items())]
    if logged != wanted:
        report("request_context", data, wanted, logged, rules, facts)
        return
    decision = decide(reference, facts, now=NOW)
    response = convert.response_to_proto(decision, explain=False)
    expected = dataclasses.asdict(decision)
    del expected["explanation"], expected["trace"]
    decided = native.decide_model(facts, NOW)
    if _plain(decided) != _plain(expected):
        report("decision", data, expected, decided, rules, facts)
        return
    written = pb.CheckResponse.FromString(discretion_native.write_response(decided))
    if written != response:
        report("response", data, str(response), str(written), rules, facts)


# ---- a disagreement, written out -------------------------------------------------------------

def _artifact_prefix() -> str:
    for arg in sys.argv:
        if arg.startswith("-artifact_prefix="):
            return arg.split("=", 1)[1]
    return "./"


def _explainable(cls, value):
    """A request's asdict as a request file writes it: instants as ISO 8601 text, as `discretion explain` reads."""
    hints = typing.get_type_hints(cls, vars(model))
    out = {}
    for name, hint in hints.items():
        if name not in value:
            continue
        raw = value[name]
        args = typing.get_args(hint)
        inner = args[0] if typing.get_origin(hint) is tuple else hint
        if dataclasses.is_dataclass(inner) and typing.get_origin(hint) is tuple:
            out[name] = [_explainable(inner, v) for v in raw]
        elif dataclasses.is_dataclass(hint):
            out[name] = _explainable(hint, raw)
        elif hint is model.Instant or model.Instant in args:
            out[name] = None if raw is None else to_iso(raw)
        else:
            out[name] = _plain(raw)
    return out


def write_request_file(where: pathlib.Path, read: dict) -> None:
    where.write_text(json.dumps(_explainable(model.Request, read), indent=1, ensure_ascii=False) + "\n")


def report(what: str, data: bytes, python, native, rules, facts=None) -> None:
    digest = hashlib.sha1(data + b"".join(c for _, c in rules or ())).hexdigest()[:16]
    stem = pathlib.Path(f"{_artifact_prefix()}disagreement-{digest}")
    stem.parent.mkdir(parents=True, exist_ok=True)
    (stem.with_suffix(".bin")).write_bytes(data)
    wrote = [str(stem.with_suffix(".bin"))]
    # The request as Python read it; refused there, as the native engine read it.
    source = dataclasses.asdict(facts) if facts is not None else (native[1] if native[0] else None)
    if source is not None:
        write_request_file(stem.with_suffix(".json"), source)
        wrote.append(str(stem.with_suffix(".json")))
    if rules:
        folder = pathlib.Path(f"{stem}-rules")
        folder.mkdir(exist_ok=True)
        for name, content in rules:
            (folder / name).write_bytes(content)
        wrote.append(str(folder))
    message = (f"the engines disagree on the {what}\n  python: {python!r}\n  native: {native!r}\n"
               f"  written: {', '.join(wrote)}")
    if KEEP_GOING:
        kind = (what, repr(python)[:200], repr(native)[:200])
        if kind not in _SEEN:
            _SEEN.add(kind)
            print(message, file=sys.stderr, flush=True)
        return
    raise Disagreement(message)


# ---- the three modes -------------------------------------------------------------------------

def policy_engines(rule_file: bytes):
    """Both engines of the rule file beside the baseline, or None when it does not compile."""
    files = [("platform-baseline.yaml", BASE), ("fuzzed.yaml", rule_file)]
    try:
        compiled, _, problems = lower_documents(files, warnings=False)
    except PolicyError:
        return None
    if compiled is None or any(p.severity == "error" for p in problems):
        return None
    reference = build_policy(compiled)
    try:
        native = discretion_native.Engine(compiled.SerializeToString())
    except ValueError as refused:
        raise Disagreement(f"the native engine refuses a compiled form Python builds: {refused}") from None
    return (reference, native), files, sorted(a.id for a in compiled.agreements if not a.platform_wide)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0] % 3, data[1:]
    # The server's deployments: `requested_at` within SKEW of its clock, or (what-if, replay) the instant decided at.
    skew = SKEW if data[0] // 3 % 2 == 0 else None
    if mode == RAW:
        compare(rest, SHIPPED_ENGINES, skew)
    elif mode == STRUCTURED:
        fdp = atheris.FuzzedDataProvider(rest)
        request = structured_request(fdp, ADOPTABLE)
        message = convert.request_to_proto(request)
        for _ in range(fdp.ConsumeIntInRange(0, 3) if fdp.ConsumeBool() else 0):
            message.request_context[_pick(fdp, CONTEXT_WORDS)] = _pick(fdp, CONTEXT_WORDS)
        compare(message.SerializeToString(), SHIPPED_ENGINES, skew)
    else:
        length = int.from_bytes(rest[:2], "big")
        built = policy_engines(rest[2:2 + length])
        if built is None:
            return
        engines, files, agreements = built
        fdp = atheris.FuzzedDataProvider(rest[2 + length:])
        for _ in range(fdp.ConsumeIntInRange(1, 3)):
            request = structured_request(fdp, agreements or ADOPTABLE)
            compare(convert.request_to_proto(request).SerializeToString(), engines, skew, files)


def write_seeds(folder: pathlib.Path) -> int:
    """The seed corpus: each suite case's request as wire bytes (a case the wire cannot say is left out);
    each shipped agreement's file in the policy mode, and a few structured requests, from fixed bytes."""
    from discretion.author.workspace import find_suites, load_suite
    from discretion.policy.requests import RequestDataError
    from discretion.policy.suites import case_request

    seeds = []
    agreements = {p.name: p.read_bytes() for p in sorted((ROOT / "rules").glob("*.yaml"))
                  if not p.name.endswith(".test.yaml") and p.name not in ("bindings.yaml", "platform-baseline.yaml")}
    drives = [b"", bytes(range(256)), bytes(range(255, -1, -1)), b"\x01" * 64, b"\xff" * 64]
    for content in agreements.values():
        seeds += [bytes([POLICY]) + len(content).to_bytes(2, "big") + content + drive for drive in drives]
    seeds += [bytes([STRUCTURED]) + drive for drive in drives]
    for path in find_suites(ROOT / "rules"):
        document, _ = load_suite(path)
        if document is None:
            continue
        for index in range(len(document.data["cases"])):
            try:
                wire = convert.request_to_proto(case_request(document, index)).SerializeToString()
            except (RequestDataError, ValueError):
                continue
            seeds.append(bytes([RAW + 3]) + wire)  # at the instant the case states
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    return len(set(seeds))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--seeds"]:  # `fuzz_native.py --seeds fuzz/corpus/native` writes the seed corpus
        print(write_seeds(pathlib.Path(sys.argv[2])), "seeds")
        sys.exit(0)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
