"""A large group's roster sent once per server, then named by its digest (`Group.roster_digest`).

A roster of thousands is most of a request, and a server that kept it from an
earlier call needs only its digest: SHA-256 of the `discretion.v1.Roster` of the
participants, written deterministically. A server that does not hold it answers
FAILED_PRECONDITION naming the digest, and the client sends the request again
with the participants beside it, which the server then keeps: the caller never
sees the exchange. Each replica behind one address fills its own store on its
first call.

Digests are computed once per roster: they are kept for the participants tuple a
frozen `Group` holds, by identity (the tuple is held, so its identity is not
reused), for the most recent `KEPT` rosters.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any

from ._gen.discretion.v1 import policy_pb2 as pb

Fill = Callable[[Any, Any], None]  # writes one participant into a Person message (_convert._fill_person)

__all__ = ["BY_REFERENCE_FROM", "RosterRefs", "Rosters"]

# Rosters of fewer participants go by value: their bytes cost less than a second round trip might.
BY_REFERENCE_FROM = 100
KEPT = 256


class Rosters:
    """This client's digests of the rosters it sends by reference; safe to share between threads."""

    def __init__(self, from_size: int | None = BY_REFERENCE_FROM) -> None:
        if from_size is not None and (not isinstance(from_size, int) or from_size < 1):
            raise ValueError("rosters_by_reference_from: a whole number of participants, 1 or more, or None")
        self._from = from_size
        self._lock = threading.Lock()
        self._digests: OrderedDict[int, tuple[tuple[Any, ...], str]] = OrderedDict()

    def refs(self, send: Collection[str] = ()) -> RosterRefs | None:
        """How to write this call's groups: by reference where large, with the rosters of `send` beside."""
        return None if self._from is None else RosterRefs(self, frozenset(send))

    def digest(self, participants: tuple[Any, ...], fill: Fill) -> str | None:
        """The digest to send for these participants, or None to send them by value."""
        if self._from is None or len(participants) < self._from:
            return None
        key = id(participants)
        with self._lock:
            kept = self._digests.get(key)
            if kept is not None and kept[0] is participants:
                self._digests.move_to_end(key)
                return kept[1]
        roster = pb.Roster()
        for person in participants:
            fill(roster.participants.add(), person)
        found = "sha256:" + hashlib.sha256(roster.SerializeToString(deterministic=True)).hexdigest()
        with self._lock:
            self._digests[key] = (participants, found)
            while len(self._digests) > KEPT:
                self._digests.popitem(last=False)
        return found


class RosterRefs:
    """One call's way of writing rosters: which go by digest, and which digests go with their participants."""

    def __init__(self, rosters: Rosters, send: frozenset[str]) -> None:
        self.rosters = rosters
        self.send = send
        self.sent: set[str] = set()  # digests written without their participants

    def digest(self, participants: tuple[Any, ...], fill: Fill) -> tuple[str, bool]:
        """(the digest to write, or "", and whether to write the participants too)."""
        found = self.rosters.digest(participants, fill)
        if found is None:
            return "", True
        if found in self.send:
            return found, True
        self.sent.add(found)
        return found, False
