"""The README's question as client requests: Ana quotes Li Chen, under the Chatham House Rule.

Shared by the end-to-end, operations and security tests, so they all ask the
question the README prints.
"""

from __future__ import annotations

import datetime as dt

import discretion_client as dc

UTC = dt.timezone.utc
CHEN = dc.Person(id="u-chen", display_name="Li Chen", organization="Northwind Bank")
ANA = dc.Actor(id="u-ana", display_name="Ana Lopez", organization="Contoso", member=True)
ROUNDTABLE = dc.Group(
    id="g-roundtable",
    adoptions=[dc.Adoption("chatham-house", 1, effective_from=dt.datetime(2026, 2, 1, tzinfo=UTC))],
    participants=[CHEN, dc.Person(id="u-ana", display_name="Ana Lopez", organization="Contoso")],
)


def chatham_quote(**overrides) -> dc.CheckRequest:
    fields = dict(
        action="quote",
        actor=ANA,
        group=ROUNDTABLE,
        items=[dc.Item(id="m-1", author=CHEN, posted_at=dt.datetime(2026, 3, 1, 10, tzinfo=UTC))],
        destination=dc.Destination(kind="public"),
        attribution=dc.Attribution(author_identity=True),
        quoted_text="As Chen said, rates will rise.",
    )
    fields.update(overrides)
    return dc.CheckRequest(**fields)
