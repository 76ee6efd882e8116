"""Whether a person's consent holds at the time of the request.

A consent holds when it was granted at or before `requested_at`, was not
withdrawn by then (withdrawal works forward, GDPR Art. 7(3)), and, if it names
recipients, covers every recipient of the destination.
"""

from __future__ import annotations

from .scope import Scope


def holds(scope: Scope, person_id: str, kind: str) -> bool:
    now = scope.requested_at
    for consent in scope.item.consents:
        if consent.by != person_id or consent.scope != kind:
            continue
        if consent.granted_at is not None and consent.granted_at > now:
            continue
        if consent.withdrawn_at is not None and consent.withdrawn_at <= now:
            continue
        if consent.recipients:
            allowed = set(consent.recipients)
            if not all(r.id in allowed for r in scope.destination.recipients):
                continue
        return True
    return False


def withdrawn(scope: Scope, person_id: str, kind: str) -> bool:
    now = scope.requested_at
    return any(
        c.by == person_id and c.scope == kind and c.withdrawn_at is not None and c.withdrawn_at <= now
        for c in scope.item.consents
    )
