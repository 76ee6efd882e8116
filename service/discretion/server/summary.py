"""What the metrics and the decision log read of one decision, in one form for both engines.

The reference evaluator gives a `model.Decision` (`Summary.of`); the native
engine gives this summary's fields beside the response's bytes
(`discretion_native.Engine.check`), so nothing on the request path builds a
Python decision only to count and log it.
"""

from __future__ import annotations

from typing import NamedTuple

from ..engine import model

__all__ = ["RULE_ERROR", "Summary"]

RULE_ERROR = "rule_evaluation_failed"  # the reason code of a rule the engine could not evaluate


class Summary(NamedTuple):
    action: str
    group_id: str
    destination_kind: str
    decision: str
    policy_revision: str
    agreements: tuple[str, ...]  # governing some item, each once, in order
    rules: tuple[str, ...]  # `agreement@version/rule` of the findings with a rule, each once
    reason_codes: tuple[str, ...]  # of the findings, each once
    obligations: tuple[str, ...]  # the type of every obligation, in order (the metrics count each)
    items: int
    rule_errors: int  # findings of a rule the engine could not evaluate

    @classmethod
    def of(cls, request: model.Request, decision: model.Decision) -> Summary:
        agreements: list[str] = []
        for item in decision.items:
            for governing in item.governed_by:
                if governing not in agreements:
                    agreements.append(governing)
        rules: list[str] = []
        codes: list[str] = []
        for finding in decision.findings:
            # A refusal of the engine's own (an unknown agreement, a label no
            # agreement defines) has no rule: its reason code says what it was.
            rule = finding.rule_key
            if rule and rule not in rules:
                rules.append(rule)
            if finding.reason_code not in codes:
                codes.append(finding.reason_code)
        return cls(request.action, request.group.id, request.destination.kind, decision.decision,
                   decision.policy_revision, tuple(agreements), tuple(rules), tuple(codes),
                   tuple(o.type for o in decision.obligations), len(request.items),
                   sum(f.reason_code == RULE_ERROR for f in decision.findings))
