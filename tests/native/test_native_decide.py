"""decide in Rust against decide in Python: the same decision on every request, to the letter.

The reference is `engine.decide(policy, request, now=…)`; the native engine is
`discretion_native.Engine(compiled form).decide_model(request, now)`. Both are
built from one compiled form of the shipped rules and compared as
`dataclasses.asdict` of the reference's Decision without its explanation and
trace: decision, obligations with their spans, findings in order, item
outcomes and the reason.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys

import discretion_native
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discretion.engine import consent, decide
from discretion.engine.build import build_policy
from discretion.engine.instants import parse_iso
from discretion.engine.model import Adoption, Consent, Destination, Recipient, Request
from discretion.policy.suites import DEFAULT_NOW
from discretion.store.files import lower_directory

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # the shared strategies of tests/
from conftest import shipped_requests  # noqa: E402 — tests/native's own, for parametrizing
from strategies import NOW, RULES, budget, requests  # noqa: E402
from test_semantics_property import histories  # noqa: E402


def _engines():
    compiled = lower_directory(RULES)
    return build_policy(compiled), discretion_native.Engine(compiled.SerializeToString())


ENGINES = _engines()


@pytest.fixture(scope="module")
def engines():
    return ENGINES


def expected(policy, request: Request, now: int) -> dict:
    answer = dataclasses.asdict(decide(policy, request, now=now))
    del answer["explanation"], answer["trace"]
    return answer


def assert_same(engines, request: Request, now: int, name: str = "") -> None:
    policy, native = engines
    reference = expected(policy, request, now)
    assert native.decide_model(request, now) == reference, name


SUITE_CASES = list(shipped_requests())


def test_the_suites_have_cases():
    assert len(SUITE_CASES) > 100


@pytest.mark.parametrize("name,request_", SUITE_CASES, ids=[name for name, _ in SUITE_CASES])
def test_every_suite_case_is_decided_as_python_decides_it(engines, name, request_):
    assert_same(engines, request_, DEFAULT_NOW, name)


def adopt(request: Request, agreements) -> Request:
    adoptions = tuple(Adoption(a, effective_from=0) for a in agreements)
    return dataclasses.replace(request, group=dataclasses.replace(request.group, adoptions=adoptions))


@budget(300)
@given(st.data())
def test_generated_requests_are_decided_as_python_decides_them(engines, data):
    request, adopted = data.draw(requests())
    assert_same(engines, adopt(request, adopted), NOW)


@budget(100)
@given(requests())
def test_requests_with_adoptions_over_time_are_decided_as_python_decides_them(engines, drawn):
    # Terms that change: the first agreement adopted from the start, the second replacing it later.
    request, (first, second) = drawn
    adoptions = (Adoption(first, effective_from=0),
                 Adoption(second, effective_from=NOW - 500 * 10**9, replaces=(first,), segments=("discussion",)))
    request = dataclasses.replace(request, group=dataclasses.replace(request.group, adoptions=adoptions))
    assert_same(engines, request, NOW)


# ---- terms over time, on the small policies of tests/test_terms_over_time.py ---------------

def _over_time_cases():
    from discretion.engine.instants import parse_iso as at
    from test_terms_over_time import BASELINE, CLUB, LATEST, LOOSER, OTHER

    start = at("2026-01-01T00:00:00Z")
    cases = [
        ((CLUB + LOOSER,), [LATEST]),
        ((CLUB,), [LATEST]),
        ((CLUB + LOOSER,), [Adoption("club", 1, effective_from=start), Adoption("club", 2, effective_from=start)]),
        ((CLUB + LOOSER,), [Adoption("club", 2, effective_from=start), Adoption("club", 1, effective_from=start)]),
        ((CLUB, OTHER), [Adoption("club", replaces=("club",))]),
        ((CLUB, OTHER), [Adoption("club", effective_from=0, replaces=("other",)),
                         Adoption("other", effective_from=0, replaces=("club",))]),
        ((CLUB, OTHER), [Adoption("club", effective_from=start, replaces=("other",)),
                         Adoption("other", effective_from=at("2026-02-01T00:00:00Z"), replaces=("club",))]),
        ((CLUB, OTHER.replace("effect: deny", "effect: allow")),
         [Adoption("club", effective_from=start), Adoption("other", effective_from=start, replaces=("club",))]),
        ((CLUB,), [Adoption("club", segments=("discussion", " \u200b"))]),
        ((CLUB + LOOSER, OTHER), [Adoption("club", effective_from=start, segments=("Discussion",)),
                                  Adoption("other", disclosed_at=at("2026-04-01T00:00:00Z"))]),
    ]
    moments = [("2026-03-01T00:00:00Z", "2026-09-01T00:00:00Z"), ("2026-07-01T00:00:00Z", "2026-09-01T00:00:00Z"),
               ("2026-07-01T00:00:00Z", "2026-05-01T00:00:00Z"), (None, "2026-09-01T00:00:00Z")]
    for index, (agreements, adoptions) in enumerate(cases):
        for posted, requested in moments:
            yield pytest.param((BASELINE, *agreements), adoptions, posted and at(posted), at(requested),
                               id=f"{index}-{posted}-{requested}")


@pytest.mark.parametrize("agreements,adoptions,posted,requested", list(_over_time_cases()))
@pytest.mark.parametrize("segment", ["", "discussion"])
def test_terms_over_time_are_read_as_python_reads_them(agreements, adoptions, posted, requested, segment):
    from discretion.compile.compiler import lower_documents
    from discretion.engine.model import Actor, Destination, Group, Item, Person, Session

    compiled, _, _ = lower_documents([(f"a{i}.yaml", text.encode()) for i, text in enumerate(agreements)])
    engines = build_policy(compiled), discretion_native.Engine(compiled.SerializeToString())
    request = Request(
        action="share", actor=Actor(id="u-me", member=True), group=Group(id="g", adoptions=tuple(adoptions)),
        items=(Item(id="m", author=Person(id="u-au"), posted_at=posted, session=Session(segment=segment)),),
        destination=Destination(kind="public"), requested_at=requested)
    assert_same(engines, request, requested)


# ---- consent and times, module by module ------------------------------------------------

PEOPLE_IDS = ["u1", "U1", "u\u200b1", "", "u2"]
SCOPES = ["quote", "Quote", "listing", "new_terms"]
MOMENTS = [None, 0, 5, 10, 15]


@st.composite
def consent_records(draw):
    return Consent(by=draw(st.sampled_from(PEOPLE_IDS)), scope=draw(st.sampled_from(SCOPES)),
                   recipients=tuple(draw(st.lists(st.sampled_from(["r0", "r1", ""]), max_size=2))),
                   granted_at=draw(st.sampled_from(MOMENTS)), withdrawn_at=draw(st.sampled_from(MOMENTS)))


@st.composite
def destinations(draw):
    return Destination(kind=draw(st.sampled_from(["external_individual", "public", "ai_tool", "actor_org_internal"])),
                       publicly_accessible=draw(st.booleans()),
                       recipients=tuple(Recipient(id=r) for r in draw(st.lists(st.sampled_from(["r0", "r1", ""]),
                                                                                max_size=2))))


@budget(150)
@given(st.lists(consent_records(), max_size=5), st.sampled_from(PEOPLE_IDS), st.sampled_from(SCOPES),
       st.sampled_from([0, 5, 10, 15, 20]), st.sampled_from(MOMENTS), destinations())
def test_a_history_of_consents_is_read_as_python_reads_it(records, person, scope, now, since, destination):
    found = consent.latest(tuple(records), person, scope, now)
    expected = None if found is None else (next(i for i, r in enumerate(records) if r is found[0]), found[1])
    assert discretion_native.consent_latest(records, person, scope, now) == expected
    python_since = float("-inf") if since is None else since
    assert discretion_native.consent_granted_since(records, person, scope, since, now, destination) == \
        consent.granted_since(tuple(records), person, scope, python_since, now, destination)


TIMES = ["2027-01-01T00:00:00Z", "2027-01-01T00:00:00.5+02:00", "2024-02-29 23:59:59,123456789-00:30",
         "2027-01-01T10Z", "2027-01-01T10:30Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
         "2027-01-01T00:00:00+02:00:30.5", "2026-02-29T00:00:00Z", "2027-13-01T00:00:00Z", "2027-01-01",
         "2027-01-01T00:00:00.1234567891Z", "nonsense", "", "2027-01-01T24:00:00Z", "0000-01-01T00:00:00Z",
         "2027-01-01T00:00:00-23:59", "2027-01-01T00:00:60Z", "2027-01-01T00:60Z", "1969-12-31T23:59:59.999Z",
         # A zone with no time of day is no time: read as one, an embargo's end would lift it.
         "2026-03-05Z", "2026-03-05-02:00",
         # Any one character separates the date from the time.
         "2026-03-05x10:00Z", "2026-03-05\u00e910:00Z", "2026-03-05\n10:00Z", "2026-03-05110:00Z"]


@pytest.mark.parametrize("text", TIMES)
def test_a_label_parameters_time_is_read_as_python_reads_it(text):
    try:
        expected = parse_iso(text)
    except Exception as error:  # noqa: BLE001 — the words a rule's failure gives it
        with pytest.raises(ValueError) as raised:
            discretion_native.parse_iso(text)
        assert str(raised.value) == f"{type(error).__name__}: {error}"
    else:
        assert discretion_native.parse_iso(text) == expected


# A fraction after a time that follows a separator other than `T` or a space, and a basic-form time of
# day: Python reads a time of no zone, the native engine none; both fail the rule closed, in other words.
REFUSED_BY_BOTH_IN_OTHER_WORDS = ["2026-03-05+00:00:01.5", "2026-03-05x00:00:01,5", "2026-03-05+0000"]


@pytest.mark.parametrize("text", REFUSED_BY_BOTH_IN_OTHER_WORDS)
def test_a_time_both_engines_refuse_fails_the_rule_closed_in_both(text):
    with pytest.raises(ValueError):
        discretion_native.parse_iso(text)
    with pytest.raises(ValueError):  # NoTimeZone is a ValueError: the reference's rule fails closed too
        parse_iso(text)


@budget(300)
@given(requests(st.just(())), st.data())
def test_requests_under_histories_of_adoptions_are_decided_as_python_decides_them(drawn, data):
    # The adoption histories the semantic properties draw, with floors and segments, or none but a binding.
    request, _ = drawn
    history = data.draw(histories())
    if data.draw(st.booleans()):
        history = tuple(dataclasses.replace(a, label_floors=data.draw(st.sampled_from([{}, {"tlp": "green"}])),
                                            segments=data.draw(st.sampled_from([(), ("Discussion",), ("q&a",)])))
                        for a in history)
    group = dataclasses.replace(request.group, adoptions=history)
    if data.draw(st.integers(0, 5)) == 0:
        group = dataclasses.replace(group, id="g-bound-example", adoptions=())
    assert_same(ENGINES, dataclasses.replace(request, group=group), NOW)
