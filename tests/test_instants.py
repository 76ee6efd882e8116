"""Data-driven: ISO 8601 text in, nanoseconds since the epoch out (tests/cases/instants.yaml)."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from discretion.engine.instants import NoTimeZone, parse_iso, to_iso

CASES = yaml.safe_load((pathlib.Path(__file__).parent / "cases" / "instants.yaml").read_text(encoding="utf-8"))
ERRORS = {"no_zone": NoTimeZone, "invalid": ValueError}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_parse_iso(case):
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]) as raised:
            parse_iso(case["text"])
        assert raised.type is ERRORS[case["error"]]
        return
    instant = parse_iso(case["text"])
    assert type(instant) is int and instant == case["ns"]
    assert to_iso(instant) == case["iso"]
    assert parse_iso(to_iso(instant)) == instant


def test_to_iso_with_fixed_digits_truncates():
    # A fixed width keeps text order the order of instants (a log sorted as text).
    assert to_iso(1_768_467_600_999_999_999, digits=6) == "2026-01-15T09:00:00.999999Z"
    assert to_iso(1_768_467_600_000_000_000, digits=6) == "2026-01-15T09:00:00.000000Z"


def test_a_bare_number_in_a_request_is_posix_seconds_as_written():
    from discretion.policy.requests import RequestDataError, parse_instant

    assert parse_instant(1_772_323_200, "requested_at") == 1_772_323_200_000_000_000
    # The decimal the file wrote, not the binary float nearest to it (95 ns earlier here).
    assert parse_instant(1_700_000_000.1, "requested_at") == 1_700_000_000_100_000_000
    assert parse_instant("2026-03-01T00:00:00.0000001Z", "requested_at") == 1_772_323_200_000_000_100
    with pytest.raises(RequestDataError, match="has no time zone"):
        parse_instant("2026-03-01T00:00:00", "requested_at")
