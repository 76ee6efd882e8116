"""Instants as text and back: the one ISO 8601 parser of the project.

The engine's instants are integers of nanoseconds since the POSIX epoch, the
resolution of the wire's `google.protobuf.Timestamp`. `datetime` keeps only
microseconds, so the fraction of a second is read here, digit by digit, and
`datetime` is left the calendar: the date, the time of day and the zone.
"""

from __future__ import annotations

import datetime as dt
import re

from .model import Instant

__all__ = ["FIRST_INSTANT", "LAST_INSTANT", "SECOND", "NoTimeZone", "parse_iso", "to_iso"]

SECOND = 1_000_000_000  # nanoseconds
# The range google.protobuf.Timestamp defines, 0001-01-01T00:00:00Z to
# 9999-12-31T23:59:59.999999999Z: what a request can carry, and what to_iso
# can write (datetime ends in year 9999).
FIRST_INSTANT = Instant(-62_135_596_800 * SECOND)
LAST_INSTANT = Instant(253_402_300_799 * SECOND + 999_999_999)
_DIGITS = 9  # a nanosecond is the ninth fractional digit
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_NAIVE_EPOCH = _EPOCH.replace(tzinfo=None)
_MICROSECOND = dt.timedelta(microseconds=1)
# The fraction of a second ends the time of day (`T09:00:00.123456789`, or
# `T09:00.5` where `datetime` reads the seconds as left out); anchoring it
# there keeps any fraction of an offset (`+02:00:30.5`) out of it.
_FRACTION = re.compile(r"([T ]\d\d(?::?\d\d){0,2})[.,](\d+)")


class NoTimeZone(ValueError):
    """A time without `Z` or an offset: it names a different instant in every zone."""


def parse_iso(text: str) -> Instant:
    """The nanoseconds since the epoch of an ISO 8601 time with a zone, every fractional digit kept.

    Raises NoTimeZone for a time without a zone, ValueError for anything else
    that is not such a time (including a fraction finer than a nanosecond).
    """
    whole, fraction = text, ""
    found = _FRACTION.search(text)
    if found is not None:
        fraction = found.group(2)
        if len(fraction) > _DIGITS:
            raise ValueError(f"`{text}` is more precise than a nanosecond")
        whole = text[:found.start()] + found.group(1) + text[found.end():]
    value = dt.datetime.fromisoformat(whole)
    if value.tzinfo is None:
        raise NoTimeZone(f"`{text}` has no time zone")
    # Exact: whole microseconds (an offset may have some), then the fraction.
    micros = (value - _EPOCH) // _MICROSECOND
    return Instant(micros * 1000 + int(fraction.ljust(_DIGITS, "0")))


def to_iso(instant: Instant, *, digits: int | None = None) -> str:
    """`2026-03-01T10:00:00.500Z`: UTC, with `digits` fractional digits (truncated).

    By default as few of 0, 3, 6 or 9 as show the instant exactly, as the
    protobuf JSON mapping writes a Timestamp.
    """
    seconds, nanos = divmod(instant, SECOND)
    text = (_NAIVE_EPOCH + dt.timedelta(seconds=seconds)).isoformat()
    if digits is None:
        digits = next(d for d in (0, 3, 6, 9) if nanos % 10 ** (_DIGITS - d) == 0)
    if digits:
        text += "." + f"{nanos:09d}"[:digits]
    return text + "Z"
