"""Labels in the sharing communities' own forms — MISP machine tags, STIX 2.1 marking ids — read as the schemes
before any rule, answered in the form received, and never a way to loosen a decision (engine/community.py)."""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
import re

import discretion_native
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discretion.engine import community, decide
from discretion.engine.instants import FIRST_INSTANT as FIRST
from discretion.engine.instants import LAST_INSTANT as LAST
from discretion.engine.instants import SECOND, to_iso
from discretion.engine.model import (Actor, Adoption, Attribution, Destination, Group, Item, Label, Purpose, Recipient,
                                     Request)
from discretion.store.files import lower_directory

from strategies import NOW, PEOPLE, POLICY, POSTED, budget, requests
from test_semantics_property import adopt, assert_not_looser, ordinary, with_item

DAY = 86_400 * SECOND
ROOT = pathlib.Path(__file__).resolve().parent.parent
NATIVE = discretion_native.Engine(lower_directory(ROOT / "rules").SerializeToString())

# The MISP taxonomies' tags (tlp v10, PAP v3) and what each reads as.
MISP_TLP = {"tlp:red": "red", "tlp:amber": "amber", "tlp:amber+strict": "amber+strict", "tlp:green": "green",
            "tlp:white": "clear", "tlp:clear": "clear", "tlp:unclear": "red"}
MISP_PAP = {"PAP:RED": "red", "PAP:AMBER": "amber", "PAP:GREEN": "green", "PAP:CLEAR": "clear", "PAP:WHITE": "white"}


def _both(request):
    reference = decide(POLICY, request, now=NOW)
    answer = dataclasses.asdict(reference)
    del answer["explanation"], answer["trace"]
    assert NATIVE.decide_model(request, NOW) == answer
    return reference


# ---- reading -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tag, value", sorted(MISP_TLP.items()))
def test_every_tag_of_the_misp_tlp_taxonomy_reads_as_its_tlp_label_in_any_case(tag, value):
    for written in (tag, tag.upper(), f" {tag.title()} "):
        read = community.read(Label("misp", written))
        assert (read.scheme, POLICY.label_schemes["tlp"].normalize(read.value), read.set_by) == ("tlp", value, "")


def test_tlp_ex_chr_withholds_the_source_and_an_unknown_tlp_value_is_red():
    assert (community.read(Label("misp", "TLP:EX:CHR")).scheme, community.read(Label("misp", "tlp:ex:chr")).value) \
        == community.WITHHELD
    for unknown in ("tlp:purple", "tlp:", "tlp:amber + strict", "tlp:clear\u200b"):
        read = community.read(Label("misp", unknown))
        assert read.scheme == "tlp" and POLICY.label_schemes["tlp"].normalize(read.value) == "red", unknown


@pytest.mark.parametrize("tag, value", sorted(MISP_PAP.items()))
def test_every_tag_of_the_misp_pap_taxonomy_reads_as_a_pap_label(tag, value):
    read = community.read(Label("misp", tag))
    assert (read.scheme, read.value) == ("pap", value)


@pytest.mark.parametrize("marking, value", sorted(community.STIX_TLP.items()))
def test_every_stix_tlp_marking_reads_as_its_tlp_label(marking, value):
    for written in (marking, marking.upper()):
        assert (community.read(Label("stix", written)).scheme, community.read(Label("stix", written)).value) == (
            "tlp", value)


@pytest.mark.parametrize("label", [Label("misp", 'misp-galaxy:threat-actor="Sofacy"'), Label("misp", "workflow:todo"),
                                   Label("misp", "tlр:clear"), Label("misp", "clear"),
                                   Label("stix", "marking-definition--d0f8c7a1-9b2e-4c3d-8e5f-6a7b8c9d0e1f"),
                                   Label("misp", 'iep2-policy:external_reference="https://isac.example/t"')])
def test_a_label_of_no_sharing_vocabulary_denies_its_item_even_within_the_group(label):
    request, adopted = _isac_share("same_group")
    decision = _both(dataclasses.replace(request, items=(dataclasses.replace(request.items[0], labels=(label,)),)))
    assert decision.decision == "deny"
    assert "not_a_sharing_label" in [f.reason_code for f in decision.findings]
    assert label.value in decision.reason


def test_the_native_engine_holds_the_same_tables():
    source = (ROOT / "native" / "src" / "community.rs").read_text()
    stix = dict(re.findall(r'\("(marking-definition--[0-9a-f-]+)", "([a-z+]+)"\)', source))
    assert stix == community.STIX_TLP and list(stix) == list(community.STIX_TLP)
    schemes = re.search(r"MISP_SCHEMES: \[\(&str, &str\); \d+\] = \[(.*?)\];", source, re.S).group(1)
    assert dict(re.findall(r'\("([a-z]+)", "([a-z]+)"\)', schemes)) == community._MISP_SCHEMES
    assert re.search(r'WITHHELD: \(&str, &str\) = \("(\w+)", "(\w+)"\)', source).groups() == community.WITHHELD
    assert re.search(r'ATTRIBUTION_MUST: \(&str, &str\) = \("(\w+)", "(\w+)"\)', source).groups() == (
        community.ATTRIBUTION_MUST)
    iep = re.search(r"IEP_SCHEMES: \[\(&str, &str\); \d+\] = \[(.*?)\];", source, re.S).group(1)
    assert dict(re.findall(r'\("([a-z_]+)", "([a-z_]+)"\)', iep)) == community._IEP_SCHEMES
    for name, python in (("IEP_DATES", community._IEP_DATES), ("IEP_DESCRIPTIVE", community._IEP_DESCRIPTIVE)):
        listed = re.search(rf"{name}: \[&str; \d+\] = \[(.*?)\];", source, re.S).group(1)
        assert tuple(re.findall(r'"([a-z_]+)"', listed)) == python, name


# Every field of IEP 2.0 that sets terms, each of its fixed values (the MISP iep2-policy taxonomy's), and what it
# reads as; a value nobody knows reads as the field's most restrictive.
IEP_FIELDS = {
    "tlp": {"red": ("tlp", "red"), "amber": ("tlp", "amber"), "green": ("tlp", "green"), "white": ("tlp", "clear"),
            "purple": ("tlp", "red")},
    "attribution": {"must": community.ATTRIBUTION_MUST, "must-not": community.WITHHELD,
                    "nobody knows": community.WITHHELD},
    "permitted_actions": {value: ("iep_permitted_actions", value) for value in (
        "none", "contact-for-instruction", "internally-visible-actions", "externally-visible-indirect-actions",
        "externally-visible-direct-actions")} | {"anything": ("iep_permitted_actions", "none")},
    "unmodified_resale": {"may": ("iep_unmodified_resale", "may"), "must-not": ("iep_unmodified_resale", "must-not"),
                          "maybe": ("iep_unmodified_resale", "must-not")},
    "affected_party_notifications": {"may": ("iep_affected_party_notifications", "may"),
                                     "must-not": ("iep_affected_party_notifications", "must-not"),
                                     "": ("iep_affected_party_notifications", "must-not")},
    "encrypt_in_transit": {"must": ("iep_encrypt_in_transit", "must"), "may": ("iep_encrypt_in_transit", "may"),
                           "should": ("iep_encrypt_in_transit", "must")},
}


@pytest.mark.parametrize("tag, read_as", [
    (f'{written}:{field}="{value}"', read_as) for field, values in IEP_FIELDS.items()
    for value, read_as in values.items() for written in ("iep2-policy", "IEP2-Policy")])
def test_an_iep_policy_is_read_field_by_field(tag, read_as):
    read = community.read(Label("misp", tag))
    assert (read.scheme, POLICY.label_schemes[read.scheme].normalize(read.value)) == read_as
    # Both engines read it so: an item labelled with the tag is decided as one labelled with what it reads as.
    request, _ = _isac_share("community_peer", {"recipients": (Recipient(id="u-p", organization="Contoso"),)})
    item = dataclasses.replace(request.items[0], labels=(Label("misp", tag),))
    as_read = dataclasses.replace(item, labels=(Label(*read_as),))
    tagged = _both(dataclasses.replace(request, items=(item,)))
    plain = decide(POLICY, dataclasses.replace(request, items=(as_read,)), now=NOW)
    assert (tagged.decision, [o.type for o in tagged.obligations]) == (
        plain.decision, [o.type for o in plain.obligations])


@pytest.mark.parametrize("tag", [
    f'{namespace}:{field}="{value}"' for field, values in (
        ("permitted_actions", ("none", "contact-for-instruction", "internally-visible-actions",
                               "externally-visible-indirect-actions")),
        ("unmodified_resale", ("must-not",)), ("affected_party_notifications", ("must-not",)),
        ("encrypt_in_transit", ("must",)), ("attribution", ("must",)))
    for value in values for namespace in ("iep2-policy", "IEP2-POLICY")])
def test_every_term_of_an_iep_policy_is_stated_on_the_copy_as_the_tag_received(tag):
    request, _ = _isac_share(*_WITHIN["amber+strict"])
    item = dataclasses.replace(request.items[0], labels=(Label("tlp", "clear"), Label("misp", tag)))
    decision = _both(dataclasses.replace(request, items=(item,), purpose=Purpose(need_to_know=True, use="passive")))
    assert decision.decision == "allow_with_obligations", decision.reason
    assert [o.label for o in decision.obligations if o.type == "preserve_label"] == [tag]


@pytest.mark.parametrize("said, value", [("red", "red"), ("amber", "amber"), ("green", "green")])
def test_the_tlp_of_an_iep_policy_is_stated_as_the_tag_received(said, value):
    request, _ = _isac_share(*_WITHIN[value])
    for written in (f'iep2-policy:tlp="{said}"', f'IEP2-POLICY:TLP = "{said.upper()}"'):
        item = dataclasses.replace(request.items[0], labels=(Label("misp", written),), exchange_participants=("u0",))
        decision = _both(dataclasses.replace(request, items=(item,)))
        assert [(o.type, o.label) for o in decision.obligations] == [("preserve_label", written)]


@pytest.mark.parametrize("tag", ['iep2-policy:id="5b0d1a2c"', 'iep2-policy:name="ISAC default"',
                                 'iep2-policy:iep_version="2.0"', 'iep2-policy:attribution="may"'])
def test_what_only_describes_an_iep_policy_sets_no_terms(tag):
    request, _ = _isac_share(*_WITHIN["amber"])
    labels = (Label("misp", 'iep2-policy:tlp="amber"'), Label("misp", tag))
    decision = _both(dataclasses.replace(request, items=(dataclasses.replace(request.items[0], labels=labels),)))
    assert decision.decision == "allow_with_obligations", decision.reason
    assert [o.label for o in decision.obligations if o.type == "preserve_label"] == ['iep2-policy:tlp="amber"']


@pytest.mark.parametrize("tag, why", [
    # the licences and agreements between producer and receiver: terms nobody here reads
    ('iep2-policy:external_reference="https://isac.example/terms"', "whose field no loaded agreement reads"),
    ('iep2-policy:permitted_action="none"', "whose field no loaded agreement reads"),
    ('iep2-policy:end_date="2099-01-01"', "date that cannot be read"),
    ('iep2-policy:start_date="2026-01-01T00:00:00"', "date that cannot be read"),
    ('iep2-policy:start_date="2026-02-29T00:00:00Z"', "date that cannot be read"),
    ('iep2-policy:start_date="2026-01-01T00:00:60Z"', "date that cannot be read"),
    ('iep2-policy:start_date="2026-01-01T00:00:00+24:00"', "date that cannot be read"),
    ('iep2-policy:start_date="2026-01-01T00:00:00.1234567890Z"', "date that cannot be read"),
    ('iep2-policy:start_date="２０２６-01-01T00:00:00Z"', "date that cannot be read"),
    ('iep2-policy:start_date="next week"', "date that cannot be read"),
])
def test_an_iep_field_or_date_that_cannot_be_read_denies_the_item(tag, why):
    request, _ = _isac_share("same_group")
    labels = (Label("misp", 'iep2-policy:tlp="white"'), Label("misp", tag))
    decision = _both(dataclasses.replace(request, items=(dataclasses.replace(request.items[0], labels=labels),)))
    assert decision.decision == "deny" and "not_a_sharing_label" in {f.reason_code for f in decision.findings}
    assert why in decision.reason, decision.reason


@pytest.mark.parametrize("text, instant", [
    ("2026-01-01t00:00:00z", 1_767_225_600 * SECOND), ("2026-01-01t01:30:00.5+01:30", 1_767_225_600 * SECOND + 5 * 10**8),
    ("2024-02-29t23:59:59-00:00", 1_709_251_199 * SECOND), ("0001-01-01t00:00:00z", -62_135_596_800 * SECOND),
    ("9999-12-31t23:59:59.999999999z", 253_402_300_799 * SECOND + 999_999_999), ("1969-12-31t23:59:59.000000001z", -999_999_999),
])
def test_an_rfc3339_date_time_names_its_instant(text, instant):
    assert community.rfc3339(text) == instant


# ---- an IEP policy holds between its dates ------------------------------------------------------------

_DATE_TEXT = st.one_of(
    st.datetimes(min_value=datetime.datetime(1, 1, 2), max_value=datetime.datetime(9999, 12, 30),
                 timezones=st.sampled_from([datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=5, minutes=45)),
                                            datetime.timezone(datetime.timedelta(hours=-11))])).map(
        lambda at: at.isoformat().replace("+00:00", "Z")),
    st.text(alphabet="0123456789-:TtZz.+ ", max_size=30))


@budget(300)
@given(_DATE_TEXT, st.sampled_from(["start_date", "end_date"]), st.integers(-2, 2), st.sampled_from(["", "u-me"]))
def test_both_engines_hold_a_policy_to_the_same_instant(text, field, nudge, setter):
    """A date either names an instant both engines read alike, to the nanosecond, or denies the item in both."""
    request, _ = _isac_share("public")
    group = dataclasses.replace(request.group, adoptions=(dataclasses.replace(
        request.group.adoptions[0], default_labels={"tlp": "red"}, effective_from=FIRST),))
    at = community.rfc3339(text.lower())
    labels = (Label("misp", 'iep2-policy:tlp="white"', set_by=setter),
              Label("misp", f'iep2-policy:{field}="{text}"', set_by=setter))
    requested_at = NOW if at is None else max(FIRST, min(LAST, at + nudge))
    asked = dataclasses.replace(request, group=group, requested_at=requested_at,
                                items=(dataclasses.replace(request.items[0], labels=labels),))
    decision = _both(asked)
    if at is None:
        assert "not_a_sharing_label" in {f.reason_code for f in decision.findings}
    elif setter:
        assert decision.decision == "deny"  # another setter's TLP:CLEAR never takes the place of the default
    else:
        holds = requested_at >= at if field == "start_date" else requested_at < at
        assert (decision.decision == "allow") == holds, (text, requested_at, decision.reason)


_POLICY = st.lists(st.sampled_from([(field, value) for field, values in IEP_FIELDS.items() for value in values]),
                   min_size=1, max_size=4)


@budget(300)
@given(requests(st.sampled_from([["tlp"], ["chatham-house"], ["tlp", "iep2"], ["open-with-opt-out"], ["pap", "tlp"]])),
       _POLICY, st.sampled_from([None, POSTED - DAY, NOW + DAY]), st.sampled_from([None, NOW, NOW + DAY]),
       st.sampled_from(["", "author", "u1"]))
def test_outside_its_dates_a_policy_is_as_if_never_set_and_inside_as_if_undated(drawn, policy, start, end, setter):
    request, adopted = drawn
    request = adopt(ordinary(_without_community_labels(request)), adopted)
    tags = tuple(Label("misp", f'iep2-policy:{field}="{value}"', set_by=setter) for field, value in policy)
    dates = tuple(Label("misp", f'iep2-policy:{field}="{to_iso(at)}"', set_by=setter)
                  for field, at in (("start_date", start), ("end_date", end)) if at is not None)
    item = request.items[0]
    dated = _both(with_item(request, labels=item.labels + tags + dates))
    if start is not None and end is not None and end <= start:
        # A policy that ends before it starts contradicts itself: the item is refused, not read either way.
        assert "not_a_sharing_label" in {f.reason_code for f in dated.findings}
        assert dated.decision == "deny" or dated.items[0].outcome == "excluded"
        return
    holds = (start is None or start <= NOW) and (end is None or NOW < end)
    expected = decide(POLICY, with_item(request, labels=item.labels + (tags if holds else ())), now=NOW)
    assert (dated.decision, dated.obligations, dated.items, [f.reason_code for f in dated.findings]) == (
        expected.decision, expected.obligations, expected.items, [f.reason_code for f in expected.findings])


# ---- answered in the form received -------------------------------------------------------------------


def _isac_share(kind, destination=None):
    """A share of one item, labelled by the test, in a group that adopted TLP, by a member of Northwind Bank."""
    actor = Actor(id="u-me", display_name="Mia Member", organization="Northwind Bank", member=True)
    request = Request(action="share", actor=actor, requested_at=NOW,
                      group=Group(id="g-isac", adoptions=(Adoption("tlp", effective_from=0),),
                                  community=("Northwind Bank", "Contoso", "Acme CERT"),
                                  participants=tuple(PEOPLE)),
                      items=(Item(id="i-1", author=PEOPLE[2], posted_at=POSTED),),
                      destination=Destination(kind=kind, **(destination or {})),
                      purpose=Purpose(need_to_know=True))
    return request, ["tlp"]


_WITHIN = {  # a destination each TLP value allows, with the label stated
    "red": ("original_exchange_participant", {"recipients": (Recipient(id="u0"),)}),
    "amber+strict": ("actor_org_internal", {"recipients": (Recipient(id="u-b", organization="Northwind Bank"),)}),
    "amber": ("actor_org_client", {"recipients": (Recipient(id="u-c", organization="Client Co"),)}),
    "green": ("community_peer", {"recipients": (Recipient(id="u-p", organization="Contoso"),)}),
}


@pytest.mark.parametrize("form, written, value", [
    *(("misp", tag, value) for tag, value in MISP_TLP.items() if value != "clear"),
    *(("misp", tag.upper(), value) for tag, value in MISP_TLP.items() if value != "clear"),
    *(("stix", marking, value) for marking, value in community.STIX_TLP.items() if value != "clear"),
])
def test_the_label_to_state_is_the_tag_or_marking_received(form, written, value):
    request, _ = _isac_share(*_WITHIN[value])
    item = dataclasses.replace(request.items[0], labels=(Label(form, written),), exchange_participants=("u0",))
    decision = _both(dataclasses.replace(request, items=(item,)))
    assert decision.decision == "allow_with_obligations", decision.reason
    # As received when it spells the label applied; `tlp:unclear`, read as RED, is stated as RED.
    stated = written if written.lower() != "tlp:unclear" else "tlp:red"
    assert [(o.type, o.label) for o in decision.obligations] == [("preserve_label", stated)]


@pytest.mark.parametrize("tag, value", sorted(MISP_PAP.items()))
def test_every_pap_tag_is_stated_as_received_where_the_label_travels(tag, value):
    request, _ = _isac_share(*_WITHIN["amber+strict"])
    item = dataclasses.replace(request.items[0], labels=(Label("tlp", "clear"), Label("misp", tag)))
    decision = _both(dataclasses.replace(request, items=(item,), purpose=Purpose(need_to_know=True, use="passive")))
    stated = [o.label for o in decision.obligations if o.type == "preserve_label"]
    assert decision.decision != "deny", decision.reason
    assert stated == ([] if POLICY.label_schemes["pap"].normalize(value) == "clear" else [tag])


def test_a_floor_raises_a_community_label_and_states_it_in_the_same_form():
    request, _ = _isac_share(*_WITHIN["red"])
    group = dataclasses.replace(request.group, adoptions=(dataclasses.replace(request.group.adoptions[0],
                                                                              label_floors={"tlp": "red"}),))
    for form, written, stated in (("misp", "TLP:GREEN", "tlp:red"),
                                  ("stix", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
                                   "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1")):
        item = dataclasses.replace(request.items[0], labels=(Label(form, written),), exchange_participants=("u0",))
        decision = _both(dataclasses.replace(request, group=group, items=(item,)))
        assert [(o.type, o.label) for o in decision.obligations] == [("preserve_label", stated)]


# ---- never looser ------------------------------------------------------------------------------------

# Each engine label with the community forms that name it.
_FORMS_OF = {("tlp", value): [("misp", f"tlp:{value}"), ("misp", f"TLP:{value.upper()}")]
             + [("stix", marking) for marking, v in community.STIX_TLP.items() if v == value]
             for value in ("red", "amber+strict", "amber", "green", "clear")}
_FORMS_OF[community.WITHHELD] = [("misp", "tlp:ex:chr"), ("misp", "TLP:EX:CHR"),
                                 ("misp", 'iep2-policy:attribution="must-not"')]
for _value, _said in (("red", "red"), ("amber", "amber"), ("green", "green"), ("clear", "white")):
    _FORMS_OF[("tlp", _value)].append(("misp", f'iep2-policy:tlp="{_said}"'))
ANY_COMMUNITY_LABEL = [form for forms in _FORMS_OF.values() for form in forms] + [
    ("misp", "tlp:unclear"), ("misp", "tlp:purple"), ("misp", "PAP:RED"), ("misp", "PAP:CLEAR"),
    ("misp", 'iep2-policy:attribution="must-not"'), ("misp", "circl:incident-classification=\"phishing\""),
    ("misp", 'iep2-policy:permitted_actions="none"'), ("misp", 'iep2-policy:start_date="2099-01-01T00:00:00Z"'),
    ("misp", 'iep2-policy:attribution="must"'), ("misp", 'iep2-policy:id="5b0d1a2c"'), ("misp", 'iep2-policy:tlp="purple"'),
    ("misp", 'iep2-policy:attribution="may"'), ("misp", "iep2-policy:tlp"),
    ("stix", "marking-definition--d0f8c7a1-9b2e-4c3d-8e5f-6a7b8c9d0e1f"), ("MISP ", "Tlp:Clear"), ("stix", "")]


@budget(300)
@given(requests(st.sampled_from([["tlp"], ["chatham-house"], ["tlp", "press"], ["open-with-opt-out"], ["no-ai"]])),
       st.data())
def test_a_label_written_in_a_communitys_form_is_decided_as_the_label_it_names(drawn, data):
    request, adopted = drawn
    request = adopt(ordinary(_without_community_labels(request)), adopted)
    name = data.draw(st.sampled_from(sorted(_FORMS_OF)))
    form, written = data.draw(st.sampled_from(_FORMS_OF[name]))
    setter = data.draw(st.sampled_from(["", "admin"]))
    native = decide(POLICY, with_item(request, labels=(Label(*name, set_by=setter),)), now=NOW)
    community_form = _both(with_item(request, labels=(Label(form, written, set_by=setter),)))
    stated = {o.label for o in community_form.obligations if o.type == "preserve_label"}
    assert stated <= {written}, stated
    restated = [dataclasses.replace(o, label=f"{name[0]}:{name[1]}".upper()) if o.type == "preserve_label" else o
                for o in community_form.obligations]
    assert (community_form.decision, restated, [i.outcome for i in community_form.items],
            [f.reason_code for f in community_form.findings]) == (
        native.decision, list(native.obligations), [i.outcome for i in native.items], [f.reason_code for f in native.findings])


@budget(400)
@given(requests(st.sampled_from([["tlp"], ["chatham-house"], ["tlp", "chatham-house"], ["press"], ["stays-in-group"],
                                 ["open-with-opt-out"], ["ai-allowed"], ["tlp", "pap"]])),
       st.sampled_from(ANY_COMMUNITY_LABEL), st.sampled_from(["", "admin", "author", "u1"]),
       st.sampled_from([{}, {"tlp": "red"}, {"tlp": "amber"}, {"pap": "red"}]), st.booleans())
def test_a_label_in_a_communitys_form_never_loosens_a_decision(drawn, label, setter, labels, floor):
    request, adopted = drawn
    # The group's defaults (or floors) too: a tag must never take a default's place unless the source set it.
    terms = {"label_floors" if floor else "default_labels": labels}
    request = dataclasses.replace(adopt(ordinary(request), adopted), group=dataclasses.replace(
        request.group, adoptions=tuple(Adoption(a, effective_from=0, **terms) for a in adopted)))
    item = request.items[0]
    added = with_item(request, labels=item.labels + (Label(*label, set_by=setter),))
    assert_not_looser(_both(added), decide(POLICY, request, now=NOW), label)


def _without_community_labels(request):
    """The other items' labels in the engines' own forms, so what is stated in a community's form is item 0's."""
    return dataclasses.replace(request, items=tuple(
        dataclasses.replace(i, labels=tuple(label for label in i.labels if not community.form_of(label)))
        for i in request.items))


@pytest.mark.parametrize("form, written", [("misp", "tlp:clear"), ("misp", "TLP:CLEAR"),
                                           ("stix", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487")])
@pytest.mark.parametrize("setter", ["u1", "admin", "platform"])
def test_a_tag_someone_else_added_never_takes_the_place_of_the_groups_default(form, written, setter):
    request, _ = _isac_share("public")
    group = dataclasses.replace(request.group, adoptions=(dataclasses.replace(request.group.adoptions[0],
                                                                              default_labels={"tlp": "red"}),))
    item = dataclasses.replace(request.items[0], labels=(Label(form, written, set_by=setter),))
    decision = _both(dataclasses.replace(request, group=group, items=(item,)))
    assert decision.decision == "deny", decision.reason
    # The source's own tag is the item's label, as any label the source sets.
    item = dataclasses.replace(item, labels=(Label(form, written),))
    assert _both(dataclasses.replace(request, group=group, items=(item,))).decision == "allow"


@pytest.mark.parametrize("look_alike", ["tlp:сlear", "tlp:ｃｌｅａｒ", "tlp:clear\u200b", "TLP:CLEAR\u200b", "tlp:purple",
                                        "tlp:", "tlp:unclear"])
def test_a_tag_read_as_red_is_stated_as_red_never_as_it_was_spelled(look_alike):
    request, _ = _isac_share(*_WITHIN["red"])
    for labels in ((Label("misp", look_alike),), (Label("misp", look_alike), Label("tlp", "red"))):
        item = dataclasses.replace(request.items[0], labels=labels, exchange_participants=("u0",))
        decision = _both(dataclasses.replace(request, items=(item,)))
        stated = [o.label for o in decision.obligations if o.type == "preserve_label"]
        assert stated in (["tlp:red"], ["TLP:RED"]), (labels, stated)


@pytest.mark.parametrize("misspelt", ["tlp:ex:chr\u200b", "TLP:EX: CHR", "tlp:ex:chr:", "tlp:ex_chr", "tlp: ex:chr",
                                      "tlp:purple"])
def test_a_tlp_tag_that_names_no_colour_withholds_the_source_as_well_as_reading_red(misspelt):
    request, _ = _isac_share(*_WITHIN["amber+strict"])
    item = dataclasses.replace(request.items[0], exchange_participants=("u-b",),
                               labels=(Label("misp", misspelt), Label("misp", "tlp:amber+strict")))
    decision = _both(dataclasses.replace(request, items=(item,),
                                         attribution=Attribution(author_identity=True, affiliation=True)))
    owed = {o.type for o in decision.obligations}
    assert decision.decision == "deny" or {"redact_author_identity", "redact_author_affiliation"} <= owed, (
        decision.reason)


def test_a_stix_marking_spelt_with_a_kelvin_sign_is_no_tlp_marking():
    request, _ = _isac_share("public")
    group = dataclasses.replace(request.group, adoptions=(dataclasses.replace(request.group.adoptions[0],
                                                                              default_labels={"tlp": "red"}),))
    look_alike = "mar\u212aing-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
    item = dataclasses.replace(request.items[0], labels=(Label("stix", look_alike),))
    decision = _both(dataclasses.replace(request, group=group, items=(item,)))
    assert decision.decision == "deny" and "not_a_sharing_label" in {f.reason_code for f in decision.findings}
