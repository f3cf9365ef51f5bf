"""File locks: an ``flock`` on a file, released by the system when its holder ends, however.

The one primitive under both of evalkit's locks: the learning log's, which a
writer waits for (``file_lock``), and a pilot's run lock, which a second run
does not wait for and which says who holds it (``evalkit.runner.locks``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


def lock_file(path: Path, *, shared: bool = False, wait: bool = False, create: bool = True) -> int:
    """Open ``path`` and lock it; return the descriptor, whose closing lets go of the lock.

    Raises BlockingIOError when another process holds the lock, unless
    ``wait``; FileNotFoundError when there is no such file and not ``create``.
    A ``shared`` lock may be held by many at once and keeps an exclusive one out.
    """
    handle = os.open(path, os.O_RDWR | os.O_CREAT if create else os.O_RDONLY, 0o644)
    kind = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fcntl.flock(handle, kind if wait else kind | fcntl.LOCK_NB)
    except BaseException:
        os.close(handle)
        raise
    return handle


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if need be) for the ``with`` block, waiting."""
    handle = lock_file(path, wait=True)
    try:
        yield
    finally:
        os.close(handle)
