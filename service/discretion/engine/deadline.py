"""A caller that stopped waiting: work on its answer stops.

`decide()` is given `abandoned` (a function saying whether the caller still
waits) and stays pure: it never reads a clock itself. The check runs between
items and, while a long text is searched for names, every few thousand
matches, so no request keeps a worker busy long after its caller left.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

__all__ = ["Abandoned", "check", "watching"]

_ABANDONED: ContextVar[Callable[[], bool] | None] = ContextVar("abandoned", default=None)


class Abandoned(BaseException):
    """The caller stopped waiting for this decision: nothing of it is answered or logged.

    A BaseException, like GeneratorExit: it is no failure of a rule, so the
    engine's fail-closed handlers (`except Exception`: deny the item) let it
    through and the whole decision stops.
    """


@contextmanager
def watching(abandoned: Callable[[], bool] | None) -> Iterator[None]:
    """Within the block, `check()` raises Abandoned once `abandoned()` says so (per thread, per call)."""
    token = _ABANDONED.set(abandoned)
    try:
        yield
    finally:
        _ABANDONED.reset(token)


def check() -> None:
    abandoned = _ABANDONED.get()
    if abandoned is not None and abandoned():
        raise Abandoned()
