"""Long work that gives way: the loader and the compiler call `pace()` between small steps.

A reload compiles on a thread of a worker that keeps answering calls, and the
interpreter runs one thread at a time: a second of compiling would take half
of every call's time meanwhile. The thread that reloads sets a pacer
(`paced`), which gives the interpreter to the calls in progress at each
step; any other thread's `pace()` costs a lookup and does nothing.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator

_local = threading.local()


def pace() -> None:
    """A point where the work in progress may give way (to calls being answered, when a pacer says so)."""
    pacer = getattr(_local, "pacer", None)
    if pacer is not None:
        pacer()


@contextlib.contextmanager
def paced(pacer: Callable[[], None]) -> Iterator[None]:
    """Call `pacer` at each `pace()` of this thread's work inside the block."""
    outer = getattr(_local, "pacer", None)
    _local.pacer = pacer
    try:
        yield
    finally:
        _local.pacer = outer
