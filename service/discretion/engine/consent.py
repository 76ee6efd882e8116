"""Whether a person's consent holds at the time of the request.

A person's consents to one scope form a history of events: each record is a
grant at `granted_at` (unknown: since ever) and, if it has `withdrawn_at`, a
withdrawal then. The latest event at or before `requested_at` is the person's
answer; a withdrawal and a grant at the same instant read as the withdrawal.
So a withdrawal ends every earlier grant, not only its own record, and a
later grant restores consent (withdrawal works forward, GDPR Art. 7(3)).

A blank person id never matches: an author without an id has given no consent.

A grant that names recipients holds only for a destination that lists
recipients, all of them named in the grant. An audience without listed
recipients (the public, an AI tool, a service, a publicly accessible place)
never satisfies it: nobody can say who would read it.
"""

from __future__ import annotations

import math

from .model import Consent, Destination, Instant
from .names import fold
from .scope import Scope

_UNBOUNDED = frozenset({"public", "ai_tool", "third_party_service"})


def latest(consents: tuple[Consent, ...], person_id: str, kind: str, now: Instant) -> tuple[Consent, bool] | None:
    """The person's last event for `kind` at or before `now`: (record, withdrawn?), or None."""
    if not person_id:
        return None
    loose_person, loose_kind = _loose(person_id), _loose(kind)
    best: tuple[tuple, Consent] | None = None
    for consent in consents:
        exact = consent.by == person_id and consent.scope == kind
        # A withdrawal counts however its person and scope are spelled (names.fold); a grant only when
        # spelled exactly.
        if not exact and not (consent.withdrawn_at is not None and _loose(consent.by) == loose_person
                              and _loose(consent.scope) == loose_kind):
            continue
        granted, withdrawn = consent.granted_at, consent.withdrawn_at
        # A record withdrawn before it was granted is a withdrawal; its grant never stood.
        odd = withdrawn is not None and granted is not None and withdrawn < granted
        if exact and not odd:
            at = granted if granted is not None else -math.inf
            # At one instant a withdrawal beats a grant, and a grant naming recipients one that names none.
            rank = (at, False, bool(consent.recipients))
            if at <= now and (best is None or rank >= best[0]):
                best = (rank, consent)
        if withdrawn is not None and withdrawn <= now:
            rank = (withdrawn, True, True)
            if best is None or rank >= best[0]:
                best = (rank, consent)
    return None if best is None else (best[1], best[0][1])


def _loose(text: str) -> str:
    return fold(text)


def holds(scope: Scope, person_id: str, kind: str) -> bool:
    event = latest(scope.item.consents, person_id, kind, scope.requested_at)
    if event is None or event[1]:
        return False
    consent = event[0]
    return not consent.recipients or _covers(consent, scope.destination)


def _covers(consent: Consent, destination: Destination) -> bool:
    if destination.kind in _UNBOUNDED or destination.publicly_accessible or not destination.recipients:
        return False
    named = frozenset(r for r in consent.recipients if r)
    return all(r.id and r.id in named for r in destination.recipients)


def withdrawn(scope: Scope, person_id: str, kind: str) -> bool:
    event = latest(scope.item.consents, person_id, kind, scope.requested_at)
    return event is not None and event[1]


def granted_since(consents: tuple[Consent, ...], person_id: str, kind: str, since: Instant | float, now: Instant,
                  destination: Destination) -> bool:
    """Whether the person's last event is a grant dated at or after `since` (a grant of unknown date is not)
    that covers the destination."""
    event = latest(consents, person_id, kind, now)
    if event is None or event[1]:
        return False
    consent = event[0]
    return (consent.granted_at is not None and consent.granted_at >= since
            and (not consent.recipients or _covers(consent, destination)))
