"""One run of a pilot at a time: a lock file in the pilot's reports folder.

The lock is an ``flock`` on ``reports/.evalkit-run.lock``. The operating
system releases it when the holding process ends, however it ends, so a run
that was killed never leaves a lock that blocks the next one: a lock file
whose process is gone is simply taken over. The file records who holds it
(process id, host, start time) so a second run can say who is in the way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from evalkit.errors import EvalkitError

LOCK_FILE = ".evalkit-run.lock"


@contextlib.contextmanager
def pilot_lock(reports_dir: Path) -> Iterator[Path]:
    """Hold a pilot's run lock for the ``with`` block; raise EvalkitError if another run has it.

    Yields the lock file's path. The file is removed on the way out.
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / LOCK_FILE
    handle = _acquire(path)
    try:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(handle, 0)
        os.pwrite(handle, (json.dumps(holder) + "\n").encode(), 0)
        yield path
    finally:
        # unlink before unlocking: a run that opens the name after this makes a new file
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(handle)


def _acquire(path: Path) -> int:
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise _busy(path) from None
        try:
            same = os.fstat(handle).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        # the holder removed the file between our open and our lock: try the new one
        os.close(handle)


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


def _read_holder(path: Path) -> dict[str, object] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None
