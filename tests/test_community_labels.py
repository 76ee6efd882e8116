"""Labels in the sharing communities' own forms — MISP machine tags, STIX 2.1 marking ids — read as the schemes
before any rule, answered in the form received, and never a way to loosen a decision (engine/community.py)."""

from __future__ import annotations

import dataclasses
import pathlib
import re

import discretion_native
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discretion.engine import community, decide
from discretion.engine.model import (Actor, Adoption, Attribution, Destination, Group, Item, Label, Purpose, Recipient,
                                     Request)
from discretion.store.files import lower_directory

from strategies import NOW, PEOPLE, POLICY, POSTED, budget, requests
from test_semantics_property import adopt, assert_not_looser, ordinary, with_item

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
                                   Label("misp", 'iep2-policy:permitted_actions="none"')])
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


@pytest.mark.parametrize("tag, read_as", [
    ('iep2-policy:tlp="red"', ("tlp", "red")), ('IEP2-POLICY:TLP="WHITE"', ("tlp", "clear")),
    ('iep2-policy:tlp="purple"', ("tlp", "red")), ('iep2-policy:attribution="must-not"', community.WITHHELD),
    ('iep2-policy:attribution="nobody knows"', community.WITHHELD),
])
def test_an_iep_policy_is_read_field_by_field(tag, read_as):
    read = community.read(Label("misp", tag))
    assert (read.scheme, POLICY.label_schemes[read.scheme].normalize(read.value)) == read_as


@pytest.mark.parametrize("tag", ['iep2-policy:id="5b0d1a2c"', 'iep2-policy:name="ISAC default"',
                                 'iep2-policy:iep_version="2.0"', 'iep2-policy:attribution="may"'])
def test_what_only_describes_an_iep_policy_sets_no_terms(tag):
    request, _ = _isac_share(*_WITHIN["amber"])
    labels = (Label("misp", 'iep2-policy:tlp="amber"'), Label("misp", tag))
    decision = _both(dataclasses.replace(request, items=(dataclasses.replace(request.items[0], labels=labels),)))
    assert decision.decision == "allow_with_obligations", decision.reason
    assert [o.label for o in decision.obligations if o.type == "preserve_label"] == ["tlp:amber"]


@pytest.mark.parametrize("tag", ['iep2-policy:permitted_actions="externally-visible-direct-actions"',
                                 'iep2-policy:start_date="2026-01-01T00:00:00Z"', 'iep2-policy:end_date="2099-01-01"',
                                 'iep2-policy:attribution="must"', 'iep2-policy:encrypt_in_transit="may"',
                                 # the licences and agreements between producer and receiver: terms nobody read
                                 'iep2-policy:external_reference="https://isac.example/terms"'])
def test_an_iep_field_no_agreement_reads_yet_denies_the_item(tag):
    request, _ = _isac_share("same_group")
    labels = (Label("misp", 'iep2-policy:tlp="white"'), Label("misp", tag))
    decision = _both(dataclasses.replace(request, items=(dataclasses.replace(request.items[0], labels=labels),)))
    assert decision.decision == "deny" and "not_a_sharing_label" in {f.reason_code for f in decision.findings}
    assert "IEP 2.0 policy, whose field no loaded agreement reads yet" in decision.reason


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
