"""Synthetic policies for benchmarks: many agreements, each bound to its own group."""

from __future__ import annotations

import pathlib

TEMPLATE = """agreement: norm-{n}
title: Norm {n}
summary: a generated agreement for benchmarks
versions:
  - version: 1
    rules:
      - id: may-quote
        actions: [share, quote]
        effect: allow
        reason: {{code: may_quote, message: members of group {n} may quote}}
      - id: no-names
        destinations: {{except: [same_group]}}
        when: {{not: {{author_consented: attribution}}}}
        effect: require
        obligations: [redact_author_identity]
        reason: {{code: no_names, message: names stay in group {n}}}
      - id: single-speaker
        actions: [share, quote]
        when: {{item.session.speaker_count: 1}}
        effect: deny
        reason: {{code: single_speaker, message: a single speaker is identifiable}}
      - id: no-ai
        destinations: [ai_tool]
        when: {{destination.service.may_train: {{ne: false}}}}
        effect: deny
        reason: {{code: no_ai, message: no training on group {n}}}
"""


def write_policy(folder: pathlib.Path, agreements: int, shipped: pathlib.Path | None = None) -> pathlib.Path:
    """`agreements` generated agreement files (4 rules each) plus a bindings file; optionally the shipped rules."""
    folder.mkdir(parents=True, exist_ok=True)
    if shipped is not None:
        for path in shipped.glob("*.yaml"):
            if not path.name.endswith(".test.yaml") and path.name != "bindings.yaml":
                (folder / path.name).write_bytes(path.read_bytes())
    for n in range(agreements):
        (folder / f"norm-{n}.yaml").write_text(TEMPLATE.format(n=n))
    lines = ["bindings:"]
    for n in range(agreements):
        lines += [f"  - group: g-{n}", f"    adoptions: [{{agreement: norm-{n}, version: 1}}]"]
    (folder / "bindings.yaml").write_text("\n".join(lines) + "\n")
    return folder
