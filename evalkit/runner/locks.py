"""One run of a pilot at a time: a lock file in the pilot's reports folder.

The lock is an ``flock`` on ``reports/.evalkit-run.lock`` (``evalkit.filelock``). The operating
system releases it when the holding process ends, however it ends, so a run
that was killed never leaves a lock that blocks the next one: a lock file
whose process is gone is taken over, and the run that takes it over is told
whose it was, to say so. The file records who holds it (process id, host,
start time) so a second run can say who is in the way.

A run that ends removes the file before it lets go of the lock, so a lock
file that nobody holds is the mark of a run that died: ``probe_lock`` tells
a run that is deciding whether a pilot is unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.filelock import lock_file
from evalkit.timestamps import iso_stamp

LOCK_FILE = ".evalkit-run.lock"
#: How long a run waits for a lock that another run may only be probing (``probe_lock``).
_PROBE_SECONDS = 0.1


@dataclass(frozen=True)
class HeldLock:
    """A pilot's run lock, held: its file, and who held it last if their run died holding it."""

    path: Path
    left_by: str | None  # e.g. "process 1234" ("process 1234 on HOST" if on another host)


@dataclass(frozen=True)
class LockProbe:
    """What a pilot's lock file says now: a run holds it, or a run that died left it."""

    held: bool
    left_by: str | None


@contextlib.contextmanager
def pilot_lock(reports_dir: Path) -> Iterator[Path]:
    """Hold a pilot's run lock for the ``with`` block; raise EvalkitError if another run has it.

    Yields the lock file's path. The file is removed on the way out.
    """
    with hold_pilot_lock(reports_dir) as lock:
        yield lock.path


@contextlib.contextmanager
def hold_pilot_lock(reports_dir: Path) -> Iterator[HeldLock]:
    """Hold a pilot's run lock as ``pilot_lock`` does, saying whose it was if their run died."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / LOCK_FILE
    handle = _acquire(path)
    try:
        # a run that ended removed its file, so a record found under our lock is a dead run's
        left_by = _describe(_parse(os.pread(handle, 4096, 0)))
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": iso_stamp(),
        }
        os.ftruncate(handle, 0)
        os.pwrite(handle, (json.dumps(holder) + "\n").encode(), 0)
        yield HeldLock(path, left_by)
    finally:
        # unlink before unlocking: a run that opens the name after this makes a new file
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(handle)


def probe_lock(reports_dir: Path) -> LockProbe:
    """Return whether a run holds a pilot's lock now, or whose run died holding it, if any.

    Holds the lock for an instant when nobody else does; a run starting in
    that instant waits for it (``_PROBE_SECONDS``) rather than being refused.
    """
    path = reports_dir / LOCK_FILE
    try:
        handle = lock_file(path, shared=True, create=False)
    except FileNotFoundError:
        return LockProbe(held=False, left_by=None)
    except BlockingIOError:
        return LockProbe(held=True, left_by=None)
    try:
        if not _still_named(handle, path):  # its run ended, cleanly, as we opened it
            return LockProbe(held=False, left_by=None)
        return LockProbe(held=False, left_by=_describe(_parse(os.pread(handle, 4096, 0))))
    finally:
        os.close(handle)


def _acquire(path: Path) -> int:
    patience = time.monotonic() + _PROBE_SECONDS
    while True:
        try:
            handle = lock_file(path)
        except BlockingIOError:
            if time.monotonic() < patience:  # perhaps another run only probing it
                time.sleep(0.01)
                continue
            raise _busy(path) from None
        if _still_named(handle, path):
            return handle
        # the holder removed the file between our open and our lock: try the new one
        os.close(handle)


def _still_named(handle: int, path: Path) -> bool:
    try:
        return os.fstat(handle).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _busy(path: Path) -> EvalkitError:
    holder = _read_holder(path)
    who = (
        f"process {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"
        if holder
        else "another process"
    )
    return EvalkitError(
        f"another evalkit run is running this pilot ({who}); this run left it alone",
        path=path,
        hint="wait for that run to finish, then run again; the lock goes when its process ends",
    )


def _describe(holder: dict[str, object] | None) -> str | None:
    """Return who a lock record names, in a few words ("process 1234"), or None for no record."""
    if holder is None:
        return None
    host = holder.get("host")
    elsewhere = f" on {host}" if host and host != socket.gethostname() else ""
    return f"process {holder.get('pid')}{elsewhere}"


def _read_holder(path: Path) -> dict[str, object] | None:
    try:
        return _parse(path.read_bytes())
    except OSError:
        return None


def _parse(raw: bytes) -> dict[str, object] | None:
    try:
        record = json.loads(raw.decode("utf-8") or "null")
    except ValueError:  # UnicodeDecodeError too
        return None
    return record if isinstance(record, dict) else None
