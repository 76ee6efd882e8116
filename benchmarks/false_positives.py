"""How often ordinary sentences are wrongly flagged as naming someone, by judgement.

    .venv/bin/python benchmarks/false_positives.py

400 ordinary sentences that name nobody (tests/cases/ordinary_sentences.txt)
against a roster of 300 made-up participants with their organizations and
handles (tests/cases/roster.yaml). Every span found is a false positive; the
table gives the share of sentences with at least one, for the default
judgement (every call `flag`) and with each call set to `ignore`. The README
prints this table; a test keeps it current.
"""

from __future__ import annotations

import pathlib

import yaml

from discretion.engine.identify import JUDGEMENTS, identifying_spans, judgement
from discretion.engine.model import Person

CASES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "cases"


def roster() -> list[Person]:
    rows = yaml.safe_load((CASES / "roster.yaml").read_text(encoding="utf-8"))
    return [Person(id=r["id"], display_name=r["name"], organization=r.get("organization", ""),
                   handles=tuple(r.get("handles", ()))) for r in rows]


def sentences() -> list[str]:
    return (CASES / "ordinary_sentences.txt").read_text(encoding="utf-8").splitlines()


SETTINGS = [("every call `flag` (the default)", {})] + [
    (f"`{name}: ignore`", {name: "ignore"}) for name in JUDGEMENTS] + [
    ("every call `ignore`", {name: "ignore" for name in JUDGEMENTS})]


def table() -> str:
    people, corpus = roster(), sentences()
    lines = ["| judgement | sentences wrongly flagged |", "|---|---|"]
    for label, calls in SETTINGS:
        counts = judgement(**calls)
        flagged = sum(1 for s in corpus if identifying_spans(s, people, counts=counts))
        lines.append(f"| {label} | {flagged} of {len(corpus)} ({100 * flagged / len(corpus):.1f}%) |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
