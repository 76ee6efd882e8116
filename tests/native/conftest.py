"""What every differential test of the native engine shares: the shipped rules and their suites' requests.

The Python evaluator is the reference; these tests hold the native engine
(the `discretion_native` module, built from native/) to its answers.
"""

from __future__ import annotations

import pathlib

import pytest

from discretion.policy.load import load_document
from discretion.policy.suites import case_request

RULES = pathlib.Path(__file__).resolve().parents[2] / "rules"


def shipped_requests():
    """(case name, engine.model.Request) of every case of the shipped suites, in file order."""
    for path in sorted(RULES.glob("*.test.yaml")):
        document, _ = load_document(str(path), path.read_bytes())
        for index, case in enumerate(document.data["cases"]):
            yield f"{path.name}: {case['name']}", case_request(document, index)


@pytest.fixture(scope="session")
def suite_requests():
    return list(shipped_requests())
