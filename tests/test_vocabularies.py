"""Each closed vocabulary is defined once (engine/model.py, engine/obligations.py); the wire contract, the
rule files' JSON Schema and the compiled form's enums say the same words, or a test fails here."""

from __future__ import annotations

import json
import pathlib

import pytest

from discretion import ir
from discretion.engine import model
from discretion.engine.obligations import OBLIGATION_TYPES
from discretion.server._gen.discretion.v1 import policy_pb2 as wire

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "service" / "discretion" / "policy" / "schema.json").read_text())["$defs"]


def _words(enum, prefix: str) -> tuple[str, ...]:
    """An enum's value names as the model spells them: `DESTINATION_KIND_AI_TOOL` -> `ai_tool`, unspecified left out."""
    return tuple(v.name.removeprefix(prefix).lower() for v in enum.DESCRIPTOR.values if v.number != 0)


@pytest.mark.parametrize("enum,prefix,words", [
    (wire.Action, "ACTION_", model.ACTIONS),
    (wire.DestinationKind, "DESTINATION_KIND_", model.DESTINATION_KINDS),
    (wire.ItemKind, "ITEM_KIND_", model.ITEM_KINDS),
    (wire.Format, "FORMAT_", model.FORMATS),
    (wire.Derivation, "DERIVATION_", model.DERIVATIONS),
    (wire.Role, "ROLE_", model.ROLES),
    (wire.Privacy, "PRIVACY_", model.PRIVACIES),
    (wire.Visibility, "VISIBILITY_", model.VISIBILITIES),
    (wire.LegalBasis, "LEGAL_BASIS_", model.LEGAL_BASES),
    (wire.Use, "USE_", model.USES),
    (wire.ActorKind, "ACTOR_KIND_", model.ACTOR_KINDS),
    (wire.SpanUnit, "SPAN_UNIT_", model.SPAN_UNITS),
    (wire.Decision, "DECISION_", model.DECISIONS),
], ids=lambda v: getattr(v, "__name__", None) if isinstance(v, type) else None)
def test_the_wire_contract_says_the_models_words(enum, prefix, words):
    assert set(_words(enum, prefix)) == set(words)


def test_the_schema_offers_the_models_actions_kinds_and_obligations():
    assert tuple(SCHEMA["action"]["enum"]) == model.ACTIONS
    assert tuple(SCHEMA["destinationKind"]["enum"]) == model.DESTINATION_KINDS
    assert set(SCHEMA["obligationType"]["enum"]) == set(OBLIGATION_TYPES)


def test_the_compiled_form_has_an_effect_for_each_effect_a_rule_may_have():
    effects = SCHEMA["rule"]["properties"]["effect"]["enum"]
    assert sorted(effects) == sorted(_words(ir.messages.Effect, "EFFECT_"))


def test_the_compiled_form_has_an_operator_for_each_test_a_condition_may_write():
    tests = set(SCHEMA["test"]["oneOf"][2]["properties"]) - {"exists", "matches", "fact"}
    assert tests == set(_words(ir.messages.Operator, "OPERATOR_"))


def test_the_readme_lists_the_built_in_consent_scopes_as_the_engine_does():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| scope | meaning | read in the shipped rules by |"):]
    lines = table.splitlines()[2:]
    rows = [line.split("|")[1:3] for line in lines[:next(i for i, line in enumerate(lines) if not line.startswith("|"))]]
    assert {name.strip(" `"): meaning.strip() for name, meaning in rows} == model.CONSENT_SCOPES


def test_the_wire_contract_documents_the_built_in_consent_scopes():
    import re

    proto = (ROOT / "proto" / "discretion" / "v1" / "policy.proto").read_text()
    comment = proto[proto.index("message Consent {"):proto.index("string scope = 2;")]
    assert set(re.findall(r"^  //   `(\w+)`", comment, re.MULTILINE)) == set(model.CONSENT_SCOPES)
