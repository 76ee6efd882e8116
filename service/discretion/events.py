"""Log records with a name and fields: what `--log-format json` writes as they are (server/shell.py).

In text mode a record is its message alone; the event's name and fields are
for machines, so a collector can count `rules_not_loaded` without parsing words.
"""

from __future__ import annotations

from typing import Any

__all__ = ["event"]


def event(name: str, **fields: Any) -> dict:
    """`extra=` for a log call: the event's name and its fields."""
    return {"event": name, "fields": fields}
