"""Property: whatever a request file or a replay line holds, the author tools answer it, never crash on it.

Random structures — wide, deep (past the bound and past what the readers'
recursion can hold), with numbers that are not finite or too long to read,
text that is not valid YAML — are put where a request's fields go, or are the
whole file. `explain` runs in process through `run()`, as the installed
command does, and must exit 0 (decided) or 2 (refused, with a diagnostic),
with no traceback and no fault of its own (70). A replay file's lines must
each read as a request, a decision-log record or a problem.
"""

from __future__ import annotations

import io
import json
import math

from hypothesis import given
from hypothesis import strategies as st

from discretion.author.replay import read_entries
from discretion.cli import run
from strategies import budget

from .conftest import RULES

# The fields a request file holds; a random structure replaces one of them, or the whole file.
BASE = {"action": "share", "requested_at": "2026-03-02T09:00:00Z", "actor": {"id": "u-ana", "member": True},
        "group": {"id": "g-1", "adoptions": [{"agreement": "chatham-house", "version": 1}]},
        "items": [{"id": "m-1", "author": {"id": "u-chen"}, "posted_at": "2026-03-01T10:00:00Z"}],
        "destination": {"kind": "public"}}
PLACES = [None, "action", "actor", "group", "items", "destination", "attributes", "fixtures", "requested_at",
          "request", "cases"]



class Raw(str):
    """A token written as it is: a number too long for Python to read, which no serializer would write."""


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=4301, max_value=4400).map(lambda n: Raw("9" * n)),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["2026-03-01T10:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "m-1", "tlp",
                     "share", "public", "service", "", " "]),
)
structures = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.sampled_from(["id", "kind", "items", "labels", "scheme", "x",
                                                                  "version", "adoptions", "base", "people"]),
                                                 inner, max_size=5)), max_leaves=40)


def _yaml(value, *, json_numbers: bool = False) -> str:
    """Flow-style YAML (JSON with `json_numbers`) of plain data; numbers that are not finite as each writes them."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        if json_numbers:
            return json.dumps(value)  # NaN, Infinity, -Infinity
        return ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_yaml(v, json_numbers=json_numbers)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v, json_numbers=json_numbers) for v in value) + "]"
    return json.dumps(value)


@st.composite
def request_files(draw) -> str:
    """A request file's text: the request with one place replaced by a random structure, nested `depth` deeper."""
    inner = _yaml(draw(structures))
    depth = draw(st.sampled_from([0, 1, 47, 48, 49, 200, 1200]))
    opening, closing = draw(st.sampled_from([("[", "]"), ('{"a": ', "}")]))
    value = opening * depth + inner + closing * depth
    place = draw(st.sampled_from(PLACES))
    if place is None:
        return value
    fields = {**BASE, place: "HOLE"}
    return _yaml(fields).replace('"HOLE"', value)


@budget(60)
@given(text=request_files())
def test_explain_answers_any_request_file_with_a_diagnostic_or_a_decision(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("hostile") / "request.yaml"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    code = run(["explain", str(path), "--rules", str(RULES)], out, err)
    assert code in (0, 2), (code, err.getvalue())
    assert "Traceback" not in err.getvalue() and "failed:" not in err.getvalue()
    if code == 2:
        assert f"{path}:" in err.getvalue(), err.getvalue()  # a diagnostic with its place


@st.composite
def replay_lines(draw) -> str:
    """A JSON line: a request, a decision-log record or anything, with a random structure somewhere in it."""
    structure = draw(structures)
    depth = draw(st.sampled_from([0, 48, 49, 1200]))
    kind = draw(st.sampled_from(["request", "log", "bare"]))
    text = _yaml(structure, json_numbers=True)
    text = "[" * depth + text + "]" * depth
    if kind == "request":
        return json.dumps({**BASE, draw(st.sampled_from(PLACES[1:])): "HOLE"}).replace('"HOLE"', text)
    if kind == "log":
        return json.dumps({"decision": "allow", "action": "share", "destination_kind": "public",
                           "agreements": "HOLE"}).replace('"HOLE"', text)
    return text


@budget(60)
@given(lines=st.lists(replay_lines(), min_size=1, max_size=4))
def test_every_replayed_line_is_a_request_a_record_or_a_problem(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("hostile") / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n")
    entries = read_entries(path)
    assert len(entries) == len([line for line in lines if line.strip()])
    for entry in entries:
        assert (entry.request is not None) + (entry.record is not None) + bool(entry.problem) == 1, entry
