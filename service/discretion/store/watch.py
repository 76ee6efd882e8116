"""Whether files changed, told without reading them: the one way the server watches its files.

The rules folder, the tenants file and the TLS certificates are each looked
at now and then (the rules on their own thread with a debounce, the tenants
on the server's 1 s beat, the certificates when a connection arrives) and
read again only when their marks changed. Marks follow symlinks and hold the
inode, size and times of what a path leads to: a Kubernetes ConfigMap or
Secret is swapped by renaming a symlinked folder, which inotify-based
watchers easily miss and which changes the inode of every file in it.
"""

from __future__ import annotations

import os
import pathlib
from typing import Callable, Iterable

Marks = tuple[tuple, ...]


def marks(paths: Iterable[pathlib.Path | str]) -> Marks:
    """One mark per path: the path and, unless it cannot be read, what it leads to now."""
    found = []
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            found.append((str(path), None))
            continue
        found.append((str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))
    return tuple(found)


def all_present(seen: Marks) -> bool:
    return all(mark[1] is not None for mark in seen)


class Watched:
    """Files compared with how they were at the last look.

    `paths` is the files, or a function that lists them again at each look (a
    folder's files). Given as files, a `Watched` can be pickled, as the
    settings a server hands its worker processes are.
    """

    def __init__(self, paths: Iterable[pathlib.Path | str] | Callable[[], Iterable[pathlib.Path | str]]):
        self._paths = paths if callable(paths) else tuple(paths)
        self.seen = self.look()

    def look(self) -> Marks:
        try:
            return marks(self._paths() if callable(self._paths) else self._paths)
        except OSError:  # the folder itself is gone or unreadable: that too is a state to compare
            return ()

    def changed(self) -> bool:
        """Whether they changed since the last look; the look is remembered either way."""
        now = self.look()
        if now == self.seen:
            return False
        self.seen = now
        return True
