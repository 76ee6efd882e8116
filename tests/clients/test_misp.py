"""The MISP adapter (discretion_client.misp): MISP's event JSON in, a check of a real server, a verdict out."""

from __future__ import annotations

import json
import pathlib

import pytest

import discretion_client as dc
from discretion_client import misp
from integration.conftest import RULES, RunningServer

FIXTURES = pathlib.Path(__file__).resolve().parent / "misp"
EVENT = json.loads((FIXTURES / "event-amber-strict-chr.json").read_text())
PAP_EVENT = json.loads((FIXTURES / "event-pap-attribute.json").read_text())
EXPIRED_IEP_EVENT = json.loads((FIXTURES / "event-iep-expired.json").read_text())
ME = dc.Actor(id="u-me", organization="Northwind Bank", member=True)
ISAC = dc.Group(id="g-isac", adoptions=[dc.Adoption("tlp")], community=["Northwind Bank", "Contoso", "Acme CERT"])
IN_MY_ORG = dc.Destination(kind="actor_org_internal", recipients=[dc.Recipient(id="u-boss", organization="Northwind Bank")])
TO_A_PEER = dc.Destination(kind="community_peer", recipients=[dc.Recipient(id="u-peer", organization="Contoso")])


@pytest.fixture(scope="module")
def client():
    running = RunningServer(RULES, "--workers", "1", "--metrics-address", "off")
    with dc.Client(running.target) as connected:
        yield connected
    running.stop()


def test_only_policy_tags_become_labels():
    (event,) = misp.event_items(EVENT)
    assert [label.value for label in event.labels] == ["tlp:amber+strict", "tlp:ex:chr"]
    assert (event.id, event.author.organization) == ("5f2c6e1a-3b7d-4c8e-9a1f-2d4b6c8e0a13", "Acme CERT")


def test_an_amber_strict_ex_chr_event_stays_in_the_organization_without_its_provider(client):
    inside = client.check(misp.check_event(EVENT, actor=ME, group=ISAC, destination=IN_MY_ORG,
                                           purpose=dc.Purpose(need_to_know=True)))
    assert inside.decision == "allow_with_obligations", inside.reason
    assert sorted((o.type, o.label) for o in inside.obligations) == [
        ("preserve_label", "tlp:amber+strict"), ("redact_author_affiliation", ""), ("redact_author_identity", "")]

    to_a_peer = client.check(misp.check_event(EVENT, actor=ME, group=ISAC, destination=TO_A_PEER,
                                              purpose=dc.Purpose(need_to_know=True)))
    assert to_a_peer.decision == "deny"
    assert "tlp_beyond_label" in {f.reason_code for f in to_a_peer.findings}


def test_an_export_leaves_out_the_attributes_whose_own_tags_forbid_it(client):
    items = misp.event_items(PAP_EVENT)
    # The event, and the two attributes with policy tags of their own (one of them inside an object).
    assert [item.id for item in items] == ["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "11111111-2222-4333-8444-555555555555",
                                          "abababab-cdcd-4efe-8a8a-bcbcbcbcbcbc"]
    lookup = dc.Destination(kind="third_party_service",
                            service=dc.Service(name="whois", may_train=False, retains=False, new_controller=False))
    answer = client.check(misp.check_event(PAP_EVENT, actor=ME, group=ISAC, destination=lookup, action="export",
                                           purpose=dc.Purpose(use="lookup")))
    outcomes = {result.item_id: result.outcome for result in answer.items}
    assert outcomes["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"] != "excluded"
    assert outcomes["11111111-2222-4333-8444-555555555555"] == "excluded"  # PAP:RED: no third party's service
    assert outcomes["abababab-cdcd-4efe-8a8a-bcbcbcbcbcbc"] == "excluded"  # TLP:RED


def test_the_events_iep_policy_ending_does_not_end_an_attributes_own(client):
    # The event's policy (TLP:GREEN, encrypted in transit) ended in 2025; the first attribute's own policy says
    # TLP:RED, the third's repeats the event's encryption, and neither has an end.
    group = dc.Group(id="g-isac", adoptions=[dc.Adoption("tlp", default_labels={"tlp": "green"})],
                     community=["Northwind Bank", "Contoso", "Acme CERT"])
    event, own_policy, own_tag, repeated = misp.event_items(EXPIRED_IEP_EVENT)
    assert {label.params["policy"] for label in own_policy.labels} == {
        "event 7c1e9f40-2a5b-4d3c-8e6f-1a2b3c4d5e6f", "attribute 9d8c7b6a-5f4e-4d3c-9b2a-1f0e9d8c7b6a"}
    answer = client.check(misp.check_event(EXPIRED_IEP_EVENT, actor=ME, group=group, destination=TO_A_PEER,
                                           action="export", purpose=dc.Purpose(need_to_know=True)))
    outcomes = {result.item_id: result.outcome for result in answer.items}
    assert outcomes[event.id] != "excluded"  # the group's TLP:GREEN governs once the event's policy ended
    assert outcomes[own_policy.id] == "excluded" and outcomes[own_tag.id] == "excluded"
    assert [o.item_ids for o in answer.obligations if o.type == "encrypt_in_transit"] == [(repeated.id,)]


def _workflow(event, **params):
    defaults = {"group": json.dumps({"id": "g-isac", "adoptions": [{"agreement": "tlp"}],
                                     "community": ["Northwind Bank", "Contoso", "Acme CERT"]}),
                "actor": json.dumps({"id": "u-me", "organization": "Northwind Bank"})}
    return json.dumps({"data": event, "params": {**defaults, **params}})


def test_the_workflow_module_stops_a_publish_the_agreement_refuses_and_what_it_cannot_perform(client):
    peer = json.dumps({"kind": "community_peer", "recipients": [{"id": "u-peer", "organization": "Contoso"}]})
    refused = misp.handler(_workflow(EVENT, destination=peer), client=client)
    assert refused["data"] is False and "TLP" in refused["message"]
    own = json.dumps({"kind": "actor_org_internal", "recipients": [{"id": "u-b", "organization": "Northwind Bank"}]})
    # Allowed only if the provider's name is taken out, which a publish does not do: stopped.
    owed = misp.handler(_workflow(EVENT, destination=own, purpose='{"need_to_know": true}'), client=client)
    assert owed["data"] is False and "redact_author_identity" in owed["message"]
    clear = {"Event": {**EVENT["Event"], "Tag": [{"name": "tlp:clear"}]}}
    assert misp.handler(_workflow(clear, destination=peer), client=client)["data"] is True


@pytest.mark.parametrize("broken", [
    json.dumps({"data": EVENT, "params": {}}),  # settings missing
    json.dumps({"data": EVENT, "params": {"group": "{", "actor": "{}", "destination": "{}"}}),
    "not json",
])
def test_the_workflow_module_stops_whatever_it_cannot_check(client, broken):
    outcome = misp.handler(broken, client=client)
    assert outcome["data"] is False and outcome["message"].startswith("not checked, so not published")


def test_the_workflow_module_stops_when_no_server_answers():
    event = _workflow(EVENT, destination=json.dumps({"kind": "same_group"}), server="127.0.0.1:9")
    assert misp.handler(event)["data"] is False


@pytest.mark.parametrize("disguised", ["tlр:red", "ｔｌｐ:red", "tlp\u200b:red", "\u200btlp:red", "ＰＡＰ:RED", "TLP RED",
                                       "TLP: RED"])
def test_a_tag_that_may_be_a_policy_tag_in_disguise_reaches_the_engine_and_stops_the_publish(client, disguised):
    event = {"Event": {**EVENT["Event"], "Tag": [{"name": "tlp:green"}, {"name": disguised}]}}
    assert disguised in misp.policy_tags(event["Event"]["Tag"])
    peer = json.dumps({"kind": "community_peer", "recipients": [{"id": "u-peer", "organization": "Contoso"}]})
    outcome = misp.handler(_workflow(event, destination=peer, obligations_enforced="yes"), client=client)
    assert outcome["data"] is False, outcome


def test_tags_of_other_namespaces_stay_home():
    assert misp.policy_tags([{"name": "misp-galaxy:threat-actor=\"Sofacy\""}, {"name": "workflow:state=\"draft\""},
                             {"name": "admiralty-scale:source-reliability=\"b\""}, {"name": "PAP:RED"}]) == ["PAP:RED"]
