"""A group's roster by reference (`Group.roster_digest`): sent once, then named by its digest.

A large group's roster is most of a request and, read afresh on every call,
most of the work of deciding it. So a caller may send, instead of the
roster, its digest: SHA-256 of the `discretion.v1.Roster` holding the
participants, written deterministically, which every client computes from
the proto it already has. A server that holds the roster the caller sent
under that digest decides at once; one that does not answers
FAILED_PRECONDITION naming the digest (`RosterUnknown`), and the caller sends
the request again with the participants beside the digest, which must be
theirs (else INVALID_ARGUMENT) and which the server keeps. Every replica
fills its own store on first use: nothing is shared between them.

Each caller (a tenant's id, "" without tenants) finds only the rosters it
sent itself, so whether a digest is held says nothing of another tenant's
groups, and each has its own share of the bytes (`--roster-cache-bytes`
divided among the tenants), so no tenant's rosters evict another's.

The native engine keeps the rosters of the calls it decides
(native/src/roster.rs), with what it derives from them; `Rosters` here keeps
those of the calls the reference answers (explanations, quote questions,
`--engine reference`), as the roster's bytes, and `resolve` refuses in the
native engine's words.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence

from ..errors import DiscretionError
from .convert import FieldViolation, RequestInvalid
from ._gen.discretion.v1 import policy_pb2 as pb

__all__ = ["Rosters", "RosterUnknown", "digest", "resolve"]

PREFIX = "sha256:"
_WELL_FORMED = re.compile(r"sha256:[0-9a-f]{64}")


def digest(participants: Sequence[pb.Person]) -> str:
    """`sha256:` and the hex SHA-256 of the Roster of these participants, written deterministically."""
    roster = pb.Roster(participants=participants)
    roster.DiscardUnknownFields()  # fields this proto does not define are not the roster's, nor in any client's digest
    return PREFIX + hashlib.sha256(roster.SerializeToString(deterministic=True)).hexdigest()


NOBODY = digest(())  # the roster every caller holds


class RosterUnknown(DiscretionError):
    """Rosters sent by digest alone that this caller never sent here (or that were evicted): (field, digest)."""

    def __init__(self, missing: list[tuple[str, str]]):
        count = len(missing)
        many, them = ("", "it") if count == 1 else ("s", "them")
        super().__init__(f"{count} roster{many} unknown here: send the request again with `group.participants` "
                         f"beside {them}")
        self.missing = missing


class Rosters:
    """The rosters each caller sent with their digests, as bytes, least recently used first out, each caller
    within `each` bytes of its own."""

    def __init__(self, each: int):
        self._each = each
        self._lock = threading.Lock()
        self._shelves: dict[str, OrderedDict[str, bytes]] = {}
        self._bytes: dict[str, int] = {}

    def get(self, caller: str, digest: str) -> bytes | None:
        with self._lock:
            shelf = self._shelves.get(caller)
            if shelf is None or digest not in shelf:
                return None
            shelf.move_to_end(digest)
            return shelf[digest]

    def keep(self, caller: str, digest: str, roster: bytes) -> None:
        size = len(roster) + len(digest) + 64
        if size > self._each:
            return
        with self._lock:
            shelf = self._shelves.setdefault(caller, OrderedDict())
            if digest in shelf:
                self._bytes[caller] -= len(shelf.pop(digest)) + len(digest) + 64
            shelf[digest] = roster
            self._bytes[caller] = self._bytes.get(caller, 0) + size
            while self._bytes[caller] > self._each:
                oldest, dropped = shelf.popitem(last=False)
                self._bytes[caller] -= len(dropped) + len(oldest) + 64

    def usage(self, caller: str) -> tuple[int, int]:
        with self._lock:
            return len(self._shelves.get(caller, ())), self._bytes.get(caller, 0)


def resolve(groups: Sequence[tuple[str, pb.Group]], rosters: Rosters | None, caller: str | None,
            budget: int | None = None) -> list[str | None]:
    """Each group's roster by reference, before anything reads the roster: a digest sent alone has the
    participants `caller` sent under it filled in; a digest sent with participants is checked to be theirs,
    and returned to keep them under (`keep`, once the request is understood). `groups` are (the field's path
    prefix, the group); no `rosters` or no caller: nothing is held, and a digest sent alone is unknown.

    RequestInvalid for a digest not written as one or not the participants'; RosterUnknown, naming every
    such field, for a digest sent alone that is not held. Filled in, the rosters of one call take at most
    `budget` bytes (the largest message): a batch naming a held roster a hundred times is no cheaper to
    decide here than it would be to send, and is refused as that message would be."""
    filled = 0
    problems: list[FieldViolation] = []
    unknown: list[tuple[str, str]] = []
    sent: list[str | None] = []
    for prefix, group in groups:
        field, given, kept = f"{prefix}group.roster_digest", group.roster_digest, None
        if not given:
            pass
        elif not _WELL_FORMED.fullmatch(given):
            problems.append(FieldViolation(field, "not a roster digest: `sha256:` and 64 lowercase hex digits, "
                                                  "the SHA-256 of the `discretion.v1.Roster` of the participants"))
        elif group.participants:
            theirs = digest(group.participants)
            if theirs != given:
                problems.append(FieldViolation(field, f"`{given}` is not the digest of `group.participants` "
                                                      f"({theirs}): compute it over the `discretion.v1.Roster` of "
                                                      "exactly the participants sent, written deterministically"))
            kept = theirs
        elif rosters is not None and caller is not None and (held := rosters.get(caller, given)) is not None:
            filled += len(held)
            if budget is not None and filled > budget:
                raise RequestInvalid([FieldViolation(field, f"the rosters this call names come to more than "
                                                            f"{budget} bytes, the largest message "
                                                            "(--max-message-bytes); send fewer checks")])
            group.participants.extend(pb.Roster.FromString(held).participants)
        elif given != NOBODY:
            unknown.append((field, given))
        sent.append(kept)
    if problems:
        raise RequestInvalid(problems)
    if unknown:
        raise RosterUnknown(unknown)
    return sent


def keep(groups: Sequence[pb.Group], sent: Sequence[str | None], rosters: Rosters | None, caller: str | None) -> None:
    """Keep the rosters sent with their digests (`resolve`), for `caller`'s later requests."""
    if rosters is None or caller is None:
        return
    for group, digest_sent in zip(groups, sent, strict=True):
        if digest_sent is not None:
            rosters.keep(caller, digest_sent, pb.Roster(participants=group.participants).SerializeToString(
                deterministic=True))
